"""Failure is not success: an event whose handler failed is retried, parked, replayed.

Whole bots on the fake homeserver with the ``flaky`` plugin (``tests/core/faulty``),
whose commands fail the ways plugins fail: a database that refuses writes, a
send that gives up, a handler that hangs, a bug, a start that fails. Each test
counts the answers: every command is answered exactly once, in order, however
often its handler failed first.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from mautrix.types import DeviceID, RoomID, UserID

import botkit.bot
from botkit.bot import Bot
from botkit.cli import main
from botkit.testing.bot import BotProcess, running_bot
from botkit.testing.botconfig import fakehs_account, write_bot_config
from botkit.testing.fakehs import FakeHomeserver, SentEvent
from botkit.testing.synapse import MatrixAccount, free_ports
from botkit.testing.talk import eventually
from tests.twim.fakeroom import fake_room

pytest_plugins = ["botkit.testing.fakehs_fixtures"]

FAULTY = Path(__file__).parent / "faulty"
PLUGINS = Path(__file__).parent / "plugins"
# A SQLite trigger makes the plugin's table refuse writes, as a full disk would.
REFUSE = (
    "CREATE TRIGGER refuse BEFORE INSERT ON p_flaky_entries "
    "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
)


@dataclass
class Setup:
    """A bot account, its config file, a room and a user there."""

    fakehs: FakeHomeserver
    tmp_path: Path
    account: MatrixAccount
    room: RoomID
    alice: str
    sync: dict[str, Any] = field(default_factory=dict)
    sending: dict[str, Any] = field(default_factory=dict)
    web: dict[str, Any] = field(default_factory=dict)
    instance: str = "flaky"
    database_url: str | None = None

    def write(self, **flaky: Any) -> Path:
        """(Re)write the config, with ``flaky`` as the flaky instance's config."""
        return write_bot_config(
            self.tmp_path / "config.yaml",
            account=self.account,
            database_url=self.database_url,
            plugins={self.instance: {"plugin": "flaky", "config": flaky}, "pong": {}},
            plugin_dirs=[str(FAULTY), str(PLUGINS)],
            # Quick retries, so that a test sees several; enough of them to outlast it.
            sync={"retry_delay": 0.05, "retry_max_delay": 0.2, "retry_attempts": 1000} | self.sync,
            sending=self.sending,
            web=self.web,
            bot={"admins": [self.alice]},
        )

    def say(self, body: str) -> None:
        self.fakehs.inject(self.room, self.alice, {"msgtype": "m.text", "body": body})

    def answers(self) -> list[str]:
        """The bodies the bot sent to the room, in order."""
        return [
            str(e.content.get("body"))
            for e in self.fakehs.sent
            if e.sender == self.account.user_id and e.type == "m.room.message"
        ]

    async def answer(self, body: str, timeout: float = 20) -> SentEvent:  # noqa: ASYNC109
        return await self.fakehs.wait_for_sent(
            lambda e: e.content.get("body") == body, timeout=timeout
        )

    async def sql(self, statement: str) -> list[Any]:
        """Run ``statement`` on the bot's database, in a thread: the bot may be writing,
        and its transaction needs the event loop to finish."""

        def run() -> list[Any]:
            db = sqlite3.connect(self.tmp_path / "botkit.db", timeout=30, isolation_level=None)
            try:
                return db.execute(statement).fetchall()
            finally:
                db.close()

        return await asyncio.to_thread(run)


def make_setup(fakehs: FakeHomeserver, tmp_path: Path, user: str = "bot", **sync: Any) -> Setup:
    room = fakehs.create_room("alice", members=[user])
    alice = f"@alice:{fakehs.server_name}"
    return Setup(fakehs, tmp_path, fakehs_account(fakehs, user), room, alice, sync)


def flaky_health(bot: Bot, instance: str = "flaky") -> dict[str, Any]:
    entry: dict[str, Any] = bot.health()["plugins"][instance]
    return entry


async def test_a_database_that_refuses_writes_delays_the_event_and_its_lane_only(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    s = make_setup(fakehs, tmp_path)
    async with running_bot(s.write()) as bot:
        await s.sql(REFUSE)
        s.say("!store a")
        s.say("!say b")  # the same lane: it waits behind !store a
        s.say("!pong c")  # another instance: it does not
        await s.answer("pong c")
        await eventually(lambda: bot.metrics.events_retried.values["flaky"] >= 3, what="retries")
        health = flaky_health(bot)
        assert (health["state"], health["retrying"]) == ("degraded", 2)
        assert bot.health()["degraded"] == ["flaky"]
        assert 'botkit_events_pending{instance="flaky"} 2' in bot.metrics.render()
        assert bot.web is not None
        url = f"http://127.0.0.1:{bot.web.port}/_botkit/health"
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            served = await resp.json()
        assert served["degraded"] == ["flaky"]
        assert "database or disk is full" in served["plugins"]["flaky"]["last_failure"]
        assert "stored a" not in s.answers() and "said b" not in s.answers()
        await s.sql("DROP TRIGGER refuse")
        await s.answer("said b")
        await eventually(lambda: flaky_health(bot)["state"] == "running", what="recovered")
    assert [a for a in s.answers() if a != "pong c"] == ["stored a", "said b"]
    assert await s.sql("SELECT tag FROM p_flaky_entries") == [("a",)]


async def test_a_send_that_gave_up_is_retried_with_the_same_transaction_id(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    s = make_setup(fakehs, tmp_path)
    s.sending = {"max_retries": 0}
    async with running_bot(s.write()) as bot:
        fakehs.fail_next(3, 500)  # each send gives up at once: three failed handlings
        s.say("!say once")
        await s.answer("said once")
        assert bot.metrics.events_retried.values["flaky"] == 3
    assert s.answers().count("said once") == 1
    # Every try used the same transaction ID, so that one lost answer is never doubled.
    assert sorted(fakehs.send_attempts.values()) == [4]


async def test_a_handler_cut_off_by_the_timeout_is_tried_again(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    s = make_setup(fakehs, tmp_path, handler_timeout=0.3)
    async with running_bot(s.write()) as bot:
        s.say("!hang h")
        await s.answer("woke h")
        assert bot.metrics.events_retried.values["flaky"] == 1
    assert s.answers() == ["woke h"]


async def test_an_instance_that_failed_to_start_handles_its_events_once_it_runs(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    s = make_setup(fakehs, tmp_path)
    async with running_bot(s.write(broken_start=True)) as bot:
        assert flaky_health(bot)["state"] == "failed"
        s.say("!say late")
        s.say("!pong meanwhile")
        await s.answer("pong meanwhile")
        await eventually(lambda: flaky_health(bot)["retrying"] >= 1, what="kept for flaky")
        assert bot.health()["degraded"] == ["flaky"]
        s.write(broken_start=False)
        assert "reloaded" in await bot.reload_instance("flaky")
        await s.answer("said late")
        await eventually(lambda: flaky_health(bot)["retrying"] == 0, what="nothing left")
    assert s.answers().count("said late") == 1


async def test_pending_events_survive_a_restart_and_are_handled_once(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    s = make_setup(fakehs, tmp_path)
    config = s.write()
    async with running_bot(config) as bot:
        s.say("!say before")
        await s.answer("said before")
        await s.sql(REFUSE)
        s.say("!store r1")
        s.say("!say r2")
        await eventually(lambda: flaky_health(bot)["retrying"] == 2, what="both pending")
    await s.sql("DROP TRIGGER refuse")
    assert await s.sql("SELECT count(*) FROM botkit_pending") == [(2,)]
    assert "stored r1" not in s.answers()
    async with running_bot(config):
        await s.answer("said r2")
        s.say("!pong end")  # answered after anything a restart could still redo
        await s.answer("pong end")
    assert s.answers() == ["said before", "stored r1", "said r2", "pong end"]


async def test_a_poison_event_is_parked_and_botkit_replay_retries_it_once_fixed(
    fakehs: FakeHomeserver,
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(botkit.bot, "REPLAY_POLL", 0.05)
    # Names of its own: a PostgreSQL database is shared with other test runs.
    tag = uuid.uuid4().hex[:8]
    s = make_setup(fakehs, tmp_path, f"bot{tag}", retry_attempts=3)
    name = s.instance = f"flaky{tag}"
    s.database_url = database_url
    config = s.write(poisoned=True)
    async with running_bot(config) as bot:
        s.say("!poison p")
        s.say("!say after")  # behind it in its lane, but not for ever
        await s.answer("said after")
        await eventually(lambda: flaky_health(bot, name)["retrying"] == 0, what="lane emptied")
        health = flaky_health(bot, name)
        assert (health["state"], health["dead_letters"], health["retrying"]) == ("degraded", 1, 0)
        assert "cannot digest p" in health["last_failure"]
        assert bot.metrics.dead_letters.values[name] == 1
        await bot.pipeline.flush()
        (letter,) = await bot.store.dead_letters(name)
        assert (letter.attempts, "cannot digest p" in letter.error) == (3, True)
        # Three failures in the log, one traceback: a retry says only what failed again.
        failures = [r for r in caplog.records if r.name == f"botkit.plugin.{name}"]
        assert (len(failures), sum(bool(r.exc_info) for r in failures)) == (3, 1)

        assert await asyncio.to_thread(main, ["replay", "-c", str(config), "--list"]) == 0
        listed = capsys.readouterr().out
        assert f"{name} {letter.event_id} " in listed and "after 3 tries" in listed
        assert await asyncio.to_thread(main, ["replay", "-c", str(config)]) == 2

        s.write(poisoned=False)
        await bot.reload_instance(name)
        assert await asyncio.to_thread(main, ["replay", "-c", str(config), name]) == 0
        assert letter.event_id in capsys.readouterr().out
        await s.answer("digested p")
        await eventually(lambda: flaky_health(bot, name)["state"] == "running", what="healthy")
        # Nothing is left to replay.
        assert await asyncio.to_thread(main, ["replay", "-c", str(config), name]) == 1
    assert f"no dead letters of {name}" in capsys.readouterr().err
    assert s.answers() == ["said after", "digested p"]


async def test_a_reload_with_a_broken_plugin_config_keeps_the_old_instance_running(
    fakehs: FakeHomeserver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="botkit")
    s = make_setup(fakehs, tmp_path)
    config = s.write()
    async with running_bot(config) as bot:
        # A typo: the instance's config has a key the plugin does not know.
        s.write(poisned=True)
        await bot.reload_all()
        assert "flaky keeps running with its previous config" in caplog.text
        assert "removed from the config" not in caplog.text
        s.say("!say typo")
        await s.answer("said typo")
        # A config that passes the checks but breaks start() (a bad time zone).
        s.write(broken_start=True)
        await bot.reload_all()
        assert "flaky goes on with its previous config" in caplog.text
        assert flaky_health(bot)["state"] == "running"
        s.say("!say start")
        await s.answer("said start")
    assert s.answers() == ["said typo", "said start"]


async def test_sighup_with_a_config_typo_leaves_the_old_instance_running(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    port = free_ports()[0]
    s = make_setup(fakehs, tmp_path)
    s.web = {"port": port}
    log = tmp_path / "bot.log"
    bot = BotProcess(s.write(), port, log)
    await bot.start()
    try:
        s.say("!say one")
        await s.answer("said one")
        s.write(poisned=True)  # a typo in the instance's config
        assert bot.proc is not None
        bot.proc.send_signal(signal.SIGHUP)
        await eventually(lambda: "config reloaded" in log.read_text(), what="reloaded")
        assert "flaky keeps running with its previous config" in log.read_text()
        s.say("!say two")
        await s.answer("said two")
        url = f"http://127.0.0.1:{port}/_botkit/health"
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            health = await resp.json()
        assert health["plugins"]["flaky"]["state"] == "running"
        assert health["degraded"] == []
    finally:
        assert await bot.stop() == 0
    assert s.answers() == ["said one", "said two"]


async def test_a_crash_with_pending_retries_neither_loses_nor_repeats_them(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    port = free_ports()[0]
    s = make_setup(fakehs, tmp_path)
    s.web = {"port": port}
    bot = BotProcess(s.write(), port, tmp_path / "bot.log")
    await bot.start()
    try:
        s.say("!say before")
        await s.answer("said before")
        await s.sql(REFUSE)
        s.say("!store k1")
        s.say("!say k2")

        def both_pending() -> bool:
            # The bot is another process here: reading from the event loop blocks nobody.
            with sqlite3.connect(tmp_path / "botkit.db", timeout=30) as db:
                return bool(db.execute("SELECT count(*) FROM botkit_pending").fetchone() == (2,))

        await eventually(both_pending, what="both events pending in the database")
        bot.kill()  # no chance to write anything more
        await s.sql("DROP TRIGGER refuse")
        await bot.start()
        await s.answer("said k2")
        s.say("!pong end")
        await s.answer("pong end")
    finally:
        await bot.stop()
    assert s.answers() == ["said before", "stored k1", "said k2", "pong end"]


async def test_a_twim_report_during_a_full_disk_is_kept_and_published(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    w = fake_room(fakehs, tmp_path)
    text = w.config.read_text()
    fast = text.replace("retry_delay: 2.0", "retry_delay: 0.05")
    w.config.write_text(fast.replace("retry_max_delay: 600.0", "retry_max_delay: 0.2"))
    db = Setup(fakehs, tmp_path, fakehs_account(fakehs), w.room, "")
    report = "Nheko 0.12 is out, written while the bot's disk was full"
    async with running_bot(w.config) as bot:
        tables = await db.sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'p_twim_%'"
        )
        triggers = [f"refuse_{n}" for (n,) in tables]
        for (name,), trigger in zip(tables, triggers, strict=True):
            await db.sql(
                f"CREATE TRIGGER {trigger} BEFORE INSERT ON {name} "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
        reported = w.say("alice", report)
        w.include(reported, "🏢")
        await eventually(lambda: bot.metrics.events_retried.values["twim"] >= 3, what="retries")
        assert bot.health()["plugins"]["twim"]["state"] == "degraded"
        for trigger in triggers:
            await db.sql(f"DROP TRIGGER {trigger}")
        await w.acked(reported)
        assert "Published" in await w.ask("!twim publish 2024-05-03", "ublished")
    assert report in (w.output / "2024-05-03-this-week-in-matrix-2024-05-03.md").read_text()


def test_botkit_replay_without_a_database_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_bot_config(
        tmp_path / "config.yaml",
        account=MatrixAccount(
            UserID("@bot:example.org"), "token", DeviceID(""), "", "http://127.0.0.1:1"
        ),
    )
    assert main(["replay", "-c", str(config), "twim"]) == 1
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "botkit.db").exists()
