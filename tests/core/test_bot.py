"""The bot against a real Synapse: joining, commands, help, isolation, reload, storage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from mautrix.types import RoomID, UserID

from botkit.bot import Bot
from botkit.testing.bot import running_bot
from botkit.testing.botconfig import write_bot_config
from botkit.testing.matrix import TestClient
from botkit.testing.synapse import Synapse, unique
from botkit.testing.talk import ask, eventually, wait_joined

PLUGINS = Path(__file__).parent / "plugins"


@dataclass
class World:
    """A bot in a room with a person talking to it."""

    bot: Bot
    alice: TestClient
    room: RoomID
    config: Path

    async def ask(self, body: str, expect: str) -> str:
        """Send ``body`` and return the bot's first new answer containing ``expect``."""
        answer = await ask(self.alice, self.room, self.bot_id, body, expect)
        return str(answer.content.body)

    @property
    def bot_id(self) -> UserID:
        """The bot's user ID."""
        return UserID(self.bot.config.homeserver.user_id)


async def make_world(
    synapse: Synapse, tmp_path: Path, database_url: str | None = None, **overrides: Any
) -> AsyncIterator[World]:
    bot_account = synapse.register(unique("bot"))
    alice_account = synapse.register(unique("alice"))
    plugins = overrides.pop("plugins", {"hello": {}, "crashy": {}})
    config = write_bot_config(
        tmp_path / "config.yaml",
        account=bot_account,
        database_url=database_url,
        plugins=plugins,
        plugin_dirs=[str(PLUGINS)],
        bot={"admins": [alice_account.user_id]},
        **overrides,
    )
    async with TestClient(alice_account) as alice, running_bot(config) as bot:
        room = await alice.create_room(invite=[bot_account.user_id])

        await wait_joined(alice, room, bot_account.user_id)
        yield World(bot, alice, room, config)


@pytest.fixture
async def world(synapse: Synapse, tmp_path: Path) -> AsyncIterator[World]:
    async for w in make_world(synapse, tmp_path, sync={"handler_timeout": 2}):
        yield w


async def test_the_bot_joins_when_invited_and_answers_a_command(world: World) -> None:
    answer = await world.ask("!hello", "greeting number")
    assert answer == f"Hello, {world.alice.user_id}! (greeting number 1)"
    assert await world.ask("!hi Bob", "Bob") == "Hello, Bob! (greeting number 1)"


async def test_help_lists_the_commands_of_every_plugin(world: World) -> None:
    answer = await world.ask("!help", "Commands")
    for usage in ("!hello [name...]", "!crash", "!hang", "!help [topic...]", "!reload <instance>"):
        assert usage in answer
    detail = await world.ask("!help hello", "Say hello")
    assert "!hello [name...]" in detail and "!hi" in detail


async def test_a_failing_plugin_does_not_affect_the_others(world: World) -> None:
    # crashy raises on every event, and !crash raises in a command.
    await world.alice.send_text(world.room, "!crash")
    await world.alice.send_text(world.room, "!hang")
    assert "greeting number 1" in await world.ask("!hello", "greeting number")
    # Its first failed event is retried later; its next ones wait behind it.
    assert world.bot.metrics.handler_errors.values["crashy"] >= 1
    # Running, but its failed events wait for a retry: health says so.
    await eventually(
        lambda: world.bot.health()["plugins"]["crashy"]["retrying"] >= 3, what="kept for crashy"
    )
    health = world.bot.health()
    assert health["plugins"]["crashy"]["state"] == "degraded"
    assert health["plugins"]["hello"]["state"] == "running"
    assert health["degraded"] == ["crashy"]
    assert health["connected"] is True


async def test_a_usage_error_tells_the_user(world: World) -> None:
    answer = await world.ask("!reload", "Usage")
    assert answer == "Missing <instance>. Usage: !reload <instance>"


async def test_only_admins_may_reload(synapse: Synapse, world: World) -> None:
    bob_account = synapse.register(unique("bob"))
    async with TestClient(bob_account) as bob:
        await world.alice.invite(world.room, bob.user_id)
        await bob.join(world.room)
        answer = await ask(bob, world.room, world.bot_id, "!reload hello", "not allowed")
    assert answer.content.body == "Sorry, you are not allowed to use !reload."


async def test_reload_picks_up_new_config_without_reconnecting(world: World) -> None:
    session = world.bot.api.api.session if world.bot.api else None
    syncs_before = world.bot.metrics.syncs.total()
    text = world.config.read_text()
    world.config.write_text(
        text.replace(
            "hello:\n    plugin: hello\n    enabled: true\n    config: {}",
            "hello:\n    plugin: hello\n    enabled: true\n    config:\n      greeting: Howdy",
        )
    )
    assert "Howdy" in world.config.read_text()
    answer = await world.ask("!reload hello", "reloaded")
    assert answer == "hello reloaded (plugin hello 1.0.0)"
    assert "Howdy" in await world.ask("!hello", "greeting number")
    assert world.bot.api is not None and world.bot.api.api.session is session
    assert world.bot.metrics.syncs.total() > syncs_before
    assert world.bot.health()["connected"] is True


async def test_plugin_storage_and_routes(
    synapse: Synapse, tmp_path: Path, database_url: str
) -> None:
    instance = unique("hello")
    async for world in make_world(
        synapse, tmp_path, database_url, plugins={instance: {"plugin": "hello"}}
    ):
        await world.ask("!hello Carol", "greeting number 1")
        assert "greeting number 2" in await world.ask("!hello Carol", "greeting number")
        assert world.bot.web is not None
        base = f"http://127.0.0.1:{world.bot.web.port}/_botkit"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/plugins/{instance}/counts") as resp:
                assert await resp.json() == {"Carol": 2}
            async with http.get(f"{base}/health") as resp:
                health = await resp.json()
            async with http.get(f"{base}/metrics") as resp:
                metrics = await resp.text()
        assert health["connected"] is True
        assert health["plugins"][instance] == {
            "plugin": "hello",
            "state": "running",
            "error": None,
            "retrying": 0,
            "dead_letters": 0,
            "last_failure": None,
        }
        assert f'botkit_messages_sent_total{{instance="{instance}"}} 2' in metrics


async def test_a_reload_with_a_broken_config_keeps_the_running_instance(world: World) -> None:
    text = world.config.read_text()
    world.config.write_text(
        text.replace(
            "hello:\n    plugin: hello\n    enabled: true\n    config: {}",
            "hello:\n    plugin: hello\n    enabled: true\n    config:\n      greeting: [1, 2]",
        )
    )
    answer = await world.ask("!reload hello", "Reload failed")
    assert "plugins.hello.config.greeting" in answer
    assert "Hello" in await world.ask("!hello", "greeting number")
