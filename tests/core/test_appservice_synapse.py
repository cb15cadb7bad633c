"""Appservice mode against a real Synapse with botkit registered as an application service.

As in ``test_delivery.py``, each test counts the answers to tagged ``!pong <tag>``
commands, and ``!pong end`` is answered only after every earlier command of the room.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mautrix.types import DeviceID, RoomID, UserID

from botkit.cli import main
from botkit.testing.bot import BotProcess, running_bot
from botkit.testing.botconfig import PluginEntries, write_bot_config
from botkit.testing.matrix import TestClient
from botkit.testing.synapse import MatrixAccount, Synapse, free_ports
from botkit.testing.synapse_venv import default_venv_dir
from botkit.testing.talk import answers_from, ask, wait_joined

pytestmark = pytest.mark.synapse

PLUGINS = Path(__file__).parent / "plugins"
CONVERSATION_PLUGINS = Path(__file__).parent / "conversation_plugins"


@dataclass
class Registered:
    """A Synapse with the appservice registered, and what a bot config needs to be it."""

    synapse: Synapse
    registration: Path
    port: int

    @property
    def bot(self) -> UserID:
        return self.synapse.user_id("asbot")

    def config(self, path: Path, web_port: int = 0, plugins: PluginEntries = ("pong",)) -> Path:
        account = MatrixAccount(self.bot, "", DeviceID(""), "", self.synapse.url)
        return write_bot_config(
            path,
            account=account,
            plugins=plugins,
            plugin_dirs=[str(PLUGINS), str(CONVERSATION_PLUGINS)],
            web={"port": web_port},
            appservice={
                "enabled": True,
                "id": "botkit-test",
                "port": self.port,
                "registration": str(self.registration),
            },
        )


@pytest.fixture(scope="module")
def registered(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Registered]:
    base = tmp_path_factory.mktemp("appservice")
    registration = base / "registration.yaml"
    synapse = Synapse(
        base / "synapse",
        venv=default_venv_dir(request.config.rootpath),
        appservices=[registration],
    )
    setup = Registered(synapse, registration, free_ports()[0])
    # The registration the homeserver reads is what the CLI writes.
    assert main(["appservice-registration", "-c", str(setup.config(base / "config.yaml"))]) == 0
    with synapse:
        yield setup


@dataclass
class Room:
    """Alice in a room with the bot."""

    alice: TestClient
    room: RoomID
    bot: UserID

    def tally(self) -> Counter[str]:
        return Counter(
            body.removeprefix("pong ")
            for body in answers_from(self.alice, self.room, self.bot)
            if body.startswith("pong ")
        )

    async def finish(self, timeout: float = 120) -> None:  # noqa: ASYNC109 - a deadline
        await ask(self.alice, self.room, self.bot, "!pong end", "pong end", timeout)


@asynccontextmanager
async def room_with_bot(registered: Registered) -> AsyncIterator[Room]:
    account = registered.synapse.register(f"alice{uuid.uuid4().hex[:8]}")
    async with TestClient(account) as alice:
        room = await alice.create_room(invite=[registered.bot])
        yield Room(alice, room, registered.bot)


async def test_commands_are_answered(registered: Registered, tmp_path: Path) -> None:
    config = registered.config(tmp_path / "config.yaml")
    async with running_bot(config) as bot, room_with_bot(registered) as r:
        # The invite came in a transaction; the bot joined on it.
        await wait_joined(r.alice, r.room, r.bot)
        answer = await ask(r.alice, r.room, r.bot, "!pong hello", "pong hello")
        assert answer.content.body == "pong hello"
        assert bot.health()["mode"] == "appservice"
        assert bot.health()["transactions"] > 0


async def test_a_join_brings_the_rooms_history_to_collectors_once(
    registered: Registered, tmp_path: Path
) -> None:
    plugins: dict[str, dict[str, Any]] = {"pong": {}, "collector": {}}
    config = registered.config(tmp_path / "config.yaml", plugins=plugins)
    account = registered.synapse.register(f"alice{uuid.uuid4().hex[:8]}")
    async with running_bot(config) as bot, TestClient(account) as alice:
        room = await alice.create_room()
        # More than a page of /messages; a command in it must not run.
        bodies = ["!pong old", *(f"history {i}" for i in range(120))]
        for body in bodies:
            await alice.send_text(room, body)
        await alice.invite(room, registered.bot)
        await wait_joined(alice, room, registered.bot)
        await ask(alice, room, registered.bot, "!pong new", "pong new")
        # Imported by the bot under a name of its own: no class to check against.
        collector: Any = bot.instances["collector"].plugin
        seen = await collector.seen()
    # The join's transaction was answered once its history was handled, before "!pong new"
    # came (the collector may still be at that one).
    assert {body: seen.get(body) for body in bodies} == {body: 1 for body in bodies}
    assert [a for a in answers_from(alice, room, registered.bot) if a == "pong old"] == []


async def test_sigkill_during_a_burst_neither_drops_nor_repeats(
    registered: Registered, tmp_path: Path
) -> None:
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    port = free_ports()[0]
    config = registered.config(tmp_path / "config.yaml", web_port=port)
    proc = BotProcess(config, port, tmp_path / "bot.log")
    await proc.start()
    try:
        async with room_with_bot(registered) as r:
            await wait_joined(r.alice, r.room, r.bot)
            await ask(r.alice, r.room, r.bot, "!pong warm-up", "pong warm-up")
            threshold = rng.randrange(20, 150)

            async def killer() -> None:
                # Kill once the bot has visibly answered this many: it is mid-burst.
                while len(r.tally()) < threshold:
                    await r.alice.wait_for(lambda e: True, 30)  # any next event
                    await asyncio.sleep(0)
                proc.kill()
                await proc.start()

            killing = asyncio.create_task(killer())
            for i in range(200):
                await r.alice.send_text(r.room, f"!pong {i}")
            await killing
            await r.finish()
            tally = r.tally()
    finally:
        await proc.stop()
    expected = {str(i) for i in range(200)}
    assert {t for t in expected if tally[t] == 0} == set(), f"lost (seed {seed})"
    assert {t: n for t, n in tally.items() if n > 1} == {}, f"repeated (seed {seed})"


async def test_a_synapse_restart_while_the_bot_runs_loses_and_repeats_nothing(
    registered: Registered, tmp_path: Path
) -> None:
    config = registered.config(tmp_path / "config.yaml")
    async with running_bot(config), room_with_bot(registered) as r:
        await wait_joined(r.alice, r.room, r.bot)
        for i in range(20):
            await r.alice.send_text(r.room, f"!pong {i}")
        # Synapse holds the events that come while a transaction is out in memory
        # only, and loses them when it stops (element-hq/synapse#11637): the
        # restart comes once the bot has them all. Its last answer may be cut
        # off, so Synapse may send the last transaction again.
        await ask(r.alice, r.room, r.bot, "!pong before", "pong before")
        await registered.synapse.async_stop()
        await registered.synapse.async_start()
        for i in range(20, 40):
            await r.alice.send_text(r.room, f"!pong {i}")
        await r.finish()
        tally = r.tally()
    assert [str(i) for i in range(40) if tally[str(i)] == 0] == [], "lost"
    assert {t: n for t, n in tally.items() if n > 1} == {}, "repeated"
