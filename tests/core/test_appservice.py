"""Appservice mode against the fake homeserver: the test plays the homeserver's transactions."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from mautrix.types import DeviceID, RoomID, UserID
from ruamel.yaml import YAML

from botkit.cli import main
from botkit.config import load_config
from botkit.config.checks import check_main
from botkit.config.files import SAMPLE_NAME, load_defaults, sample_text
from botkit.config.schema import merge_config
from botkit.registration import read_tokens
from botkit.testing.bot import running_bot
from botkit.testing.botconfig import PluginEntries, fakehs_account, write_bot_config
from botkit.testing.fakehs import FakeHomeserver
from botkit.testing.synapse import MatrixAccount, free_ports
from botkit.testing.talk import eventually

pytest_plugins = ["botkit.testing.fakehs_fixtures"]

PLUGINS = Path(__file__).parent / "plugins"
CONVERSATION_PLUGINS = Path(__file__).parent / "conversation_plugins"
HS_TOKEN = "hs-secret"


@dataclass
class World:
    """A bot in appservice mode, a room with alice, and a way to push transactions."""

    fakehs: FakeHomeserver
    config: Path
    room: RoomID
    alice: str
    url: str
    session: aiohttp.ClientSession

    def pongs(self, tag: str) -> int:
        return sum(1 for e in self.fakehs.sent if e.content.get("body") == f"pong {tag}")

    def event(self, body: str) -> dict[str, Any]:
        """A message from alice, as the homeserver has it and would push it."""
        event_id = self.fakehs.inject(self.room, self.alice, {"msgtype": "m.text", "body": body})
        raw = next(e for e in self.fakehs.timeline(self.room) if e["event_id"] == event_id)
        return {**raw, "room_id": self.room}

    async def push(
        self, txn_id: str, events: list[dict[str, Any]], token: str | None = HS_TOKEN
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.put(
            f"{self.url}/_matrix/app/v1/transactions/{txn_id}",
            json={"events": events},
            headers=headers,
        ) as resp:
            return resp.status, await resp.json()


@asynccontextmanager
async def world(
    fakehs: FakeHomeserver,
    tmp_path: Path,
    plugins: PluginEntries = ("pong",),
    probe_interval: float = 2.0,
    **sync: Any,
) -> AsyncIterator[World]:
    port = free_ports()[0]
    account = fakehs_account(fakehs)
    config = write_bot_config(
        tmp_path / "config.yaml",
        account=account,
        plugins=plugins,
        plugin_dirs=[str(PLUGINS), str(CONVERSATION_PLUGINS)],
        appservice={
            "enabled": True,
            "port": port,
            "as_token": account.access_token,
            "hs_token": HS_TOKEN,
            "probe_interval": probe_interval,
        },
        homeserver={"access_token": None},
        sync=sync,
    )
    room = fakehs.create_room("alice", members=["bot"])
    async with aiohttp.ClientSession() as session:
        yield World(
            fakehs,
            config,
            room,
            f"@alice:{fakehs.server_name}",
            f"http://127.0.0.1:{port}",
            session,
        )


async def test_a_transaction_is_answered_once_its_commands_are_handled_and_recorded(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    async with world(fakehs, tmp_path) as w, running_bot(w.config):
        event = w.event("!pong one")
        status, body = await w.push("1", [event])
        # The answer came only after the reply was sent and the handled record written.
        assert (status, body) == (200, {})
        assert w.pongs("one") == 1
        with sqlite3.connect(tmp_path / "botkit.db") as db:
            query = "SELECT count(*) FROM botkit_handled WHERE event_id = ?"
            assert db.execute(query, (event["event_id"],)).fetchone() == (1,)


async def test_resent_transactions_and_handled_events_are_skipped_across_restarts(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    async with world(fakehs, tmp_path) as w:
        async with running_bot(w.config):
            event = w.event("!pong again")
            assert (await w.push("7", [event]))[0] == 200
            assert (await w.push("7", [event]))[0] == 200  # resent
            assert (await w.push("8", [event]))[0] == 200  # same event, another transaction
        # A new process remembers nothing in memory: the handled records decide.
        async with running_bot(w.config):
            assert (await w.push("7", [event]))[0] == 200
            assert (await w.push("9", [event, w.event("!pong new")]))[0] == 200
        assert (w.pongs("again"), w.pongs("new")) == (1, 1)


async def test_the_bots_join_brings_the_rooms_history_to_collectors_once(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    plugins: dict[str, dict[str, Any]] = {"pong": {}, "collector": {}}
    async with world(fakehs, tmp_path, plugins=plugins) as w, running_bot(w.config) as bot:
        room = fakehs.create_room("alice")
        # More than a page of /messages; a command in it must not run.
        bodies = ["!pong old", *(f"history {i}" for i in range(150))]
        for body in bodies:
            fakehs.inject(room, w.alice, {"msgtype": "m.text", "body": body})
        fakehs.invite(room, "alice", "bot")
        join_id = fakehs.join(room, "bot")
        timeline = [{**e, "room_id": room} for e in fakehs.timeline(room)]
        join = next(e for e in timeline if e["event_id"] == join_id)
        after_id = fakehs.inject(room, w.alice, {"msgtype": "m.text", "body": "!pong new"})
        after = {**fakehs.timeline(room)[-1], "room_id": room}
        assert after["event_id"] == after_id
        # Imported by the bot under a name of its own: no class to check against.
        collector: Any = bot.instances["collector"].plugin
        # Answered once the history is handled too.
        assert (await w.push("1", [join, after]))[0] == 200
        first = await collector.seen()
        assert (await w.push("1", [join, after]))[0] == 200  # resent
        again = await collector.seen()
    assert first == again == {body: 1 for body in [*bodies, "!pong new"]}
    assert (w.pongs("old"), w.pongs("new")) == (0, 1)


async def test_what_a_restarted_homeserver_lost_is_read_back_and_handled_once(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    async with world(fakehs, tmp_path, probe_interval=0.1) as w, running_bot(w.config) as bot:
        assert (await w.push("1", [w.event("!pong before")]))[0] == 200
        assert bot.appservice is not None
        catchup = bot.appservice.catchup
        fakehs.set_down(True)
        await eventually(lambda: catchup.homeserver_down, timeout=10, what="the outage noticed")
        # Sent as the homeserver went down, and never pushed (element-hq/synapse#11637).
        w.event("!pong lost")
        fakehs.set_down(False)
        await eventually(lambda: catchup.catch_ups == 1, timeout=10, what="a catch-up")
        assert (await w.push("2", [w.event("!pong after")]))[0] == 200
    # "before" was read back too, and skipped by its handled record.
    assert (w.pongs("before"), w.pongs("lost"), w.pongs("after")) == (1, 1, 1)


@pytest.mark.parametrize(
    ("token", "status", "errcode"),
    [(None, 401, "M_UNAUTHORIZED"), ("wrong", 403, "M_FORBIDDEN")],
    ids=["no token", "wrong token"],
)
async def test_transactions_without_the_hs_token_are_refused(
    fakehs: FakeHomeserver, tmp_path: Path, token: str | None, status: int, errcode: str
) -> None:
    async with world(fakehs, tmp_path) as w, running_bot(w.config):
        answer = await w.push("1", [w.event("!pong sneaky")], token=token)
        assert (answer[0], answer[1]["errcode"]) == (status, errcode)
        await w.push("2", [])  # a transaction the bot takes, so the one above had its chance
        assert w.pongs("sneaky") == 0


async def test_other_requests_are_refused(fakehs: FakeHomeserver, tmp_path: Path) -> None:
    async with world(fakehs, tmp_path) as w, running_bot(w.config):
        auth = {"Authorization": f"Bearer {HS_TOKEN}"}
        async with w.session.get(f"{w.url}/_matrix/app/v1/users/@x:y", headers=auth) as resp:
            assert (resp.status, (await resp.json())["errcode"]) == (404, "M_UNRECOGNIZED")
        async with w.session.get(f"{w.url}/_matrix/app/v1/transactions/1") as resp:
            assert resp.status == 401
        async with w.session.put(
            f"{w.url}/_matrix/app/v1/transactions/1", data=b"{", headers=auth
        ) as resp:
            assert (resp.status, (await resp.json())["errcode"]) == (400, "M_NOT_JSON")


async def test_the_answer_waits_while_the_pipeline_is_full(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    async with world(fakehs, tmp_path, max_pending=1) as w, running_bot(w.config) as bot:
        fakehs.set_down(True)  # replies cannot be sent: the one handler slot stays taken
        first = asyncio.create_task(w.push("1", [w.event("!pong a"), w.event("!pong b")]))
        await eventually(lambda: bot.pipeline.pending == 1, timeout=10, what="a full pipeline")
        assert not first.done()
        fakehs.set_down(False)
        assert (await first)[0] == 200
        assert (w.pongs("a"), w.pongs("b")) == (1, 1)


def test_registration_is_written_once_and_keeps_its_tokens(tmp_path: Path) -> None:
    account = MatrixAccount(UserID("@asbot:example.org"), "", DeviceID(""), "", "http://[::1]:1")
    config = write_bot_config(
        tmp_path / "config.yaml",
        account=account,
        appservice={"enabled": True, "id": "mybot", "url": "http://10.0.0.5:29317"},
    )
    assert main(["appservice-registration", "-c", str(config)]) == 0
    path = tmp_path / "appservice-registration.yaml"
    first = path.read_text()
    assert main(["appservice-registration", "-c", str(config)]) == 0
    assert path.read_text() == first
    assert path.stat().st_mode & 0o077 == 0
    doc = YAML(typ="safe").load(first)
    assert doc["id"] == "mybot" and doc["url"] == "http://10.0.0.5:29317"
    assert doc["sender_localpart"] == "asbot"
    assert doc["namespaces"]["users"] == [{"exclusive": True, "regex": r"^@asbot:example\.org$"}]
    assert len(doc["as_token"]) > 20 and doc["as_token"] != doc["hs_token"]
    # The bot reads its tokens from there.
    assert read_tokens(load_config(config)).hs_token == doc["hs_token"]


def test_check_refuses_encryption_in_appservice_mode() -> None:
    defaults = load_defaults(sample_text(), SAMPLE_NAME)
    merged, _ = merge_config(defaults, {"appservice": {"enabled": True}}, file="c.yaml")
    assert check_main(merged, file="c.yaml", origins={}) == []
    merged, _ = merge_config(
        defaults, {"appservice": {"enabled": True}, "encryption": {"enabled": True}}, file="c.yaml"
    )
    problems = check_main(merged, file="c.yaml", origins={})
    assert [(p.key, "not supported in appservice mode" in p.reason) for p in problems] == [
        ("appservice.enabled", True)
    ]


async def test_a_deposed_process_abandons_the_transaction_in_flight_unanswered(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    async with world(fakehs, tmp_path) as w, running_bot(w.config) as bot:
        fakehs.set_down(True)  # the reply cannot be sent: the transaction stays in flight
        event = w.event("!pong late")
        pushed = asyncio.create_task(w.push("1", [event]))
        await eventually(lambda: bot.pipeline.pending == 1, timeout=10, what="a handler running")
        assert bot.appservice is not None
        await bot.appservice.stop(abandon=True)  # what stepping down does first
        try:
            status = (await pushed)[0]
        except aiohttp.ClientError:
            status = None  # cut off: the homeserver will send it again
        assert status != 200
        with sqlite3.connect(tmp_path / "botkit.db") as db:
            query = "SELECT count(*) FROM botkit_handled WHERE event_id = ?"
            assert db.execute(query, (event["event_id"],)).fetchone() == (0,)
        fakehs.set_down(False)  # so that the bot stops without waiting for the handler
