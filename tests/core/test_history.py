"""History on join: never answered as commands, collected once by collectors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mautrix.types import RoomID

from botkit.bot import Bot
from botkit.config import load_config
from botkit.testing.bot import running_bot
from botkit.testing.matrix import TestClient
from botkit.testing.synapse import Synapse, unique
from botkit.testing.talk import answers_from, ask, wait_joined
from tests.core.conversation_world import bot_config

PLUGINS: dict[str, Any] = {"hello": {}, "collector": {}}


async def until(
    read: Callable[[], Awaitable[dict[str, int]]],
    done: Callable[[dict[str, int]], bool],
    timeout: float = 60,  # noqa: ASYNC109 - a deadline, so that a test never hangs
) -> dict[str, int]:
    """Poll ``read()`` until ``done`` holds for what it returns."""
    deadline = time.monotonic() + timeout
    while True:
        value = await read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"not reached in {timeout} s: {len(value)} collected")
        await asyncio.sleep(0.05)


def collector(bot: Bot) -> Any:
    """The collector plugin object (the bot imports it under a name of its own)."""
    return bot.instances["collector"].plugin


async def history(alice: TestClient, room: RoomID, n: int) -> list[str]:
    """Commands a bot must not answer, then ``n`` messages; every body sent."""
    bodies = ["!hello", "!reload hello", *(f"history {i}" for i in range(n))]
    for body in bodies:
        await alice.send_text(room, body)
    return bodies


async def test_a_late_join_collects_history_and_answers_none_of_it(
    synapse: Synapse, tmp_path: Path
) -> None:
    bot_account = synapse.register(unique("bot"))
    async with TestClient(synapse.register(unique("alice"))) as alice:
        room = await alice.create_room()
        # More than one sync page (timeline_limit 50): the rest comes from /messages.
        bodies = await history(alice, room, 120)
        config = bot_config(tmp_path, bot_account, alice.user_id, plugins=PLUGINS)
        async with running_bot(config) as bot:
            await alice.invite(room, bot_account.user_id)
            await wait_joined(alice, room, bot_account.user_id)
            seen = await until(collector(bot).seen, lambda s: set(bodies) <= set(s))
            # The !hello before the join did not run: this one is the first greeting.
            await ask(alice, room, bot_account.user_id, "!hello", "greeting number 1")
        assert all(seen[b] == 1 for b in bodies)
        assert not [a for a in answers_from(alice, room, bot_account.user_id) if "reload" in a]


async def test_a_first_start_collects_history_once_across_a_restart_halfway(
    synapse: Synapse, tmp_path: Path
) -> None:
    bot_account = synapse.register(unique("bot"))
    async with (
        TestClient(synapse.register(unique("alice"))) as alice,
        TestClient(bot_account) as bot_device,
    ):
        room = await alice.create_room(invite=[bot_account.user_id])
        # The bot's account is in the room before botkit ever ran for it.
        await bot_device.accept_invite(room)
        bodies = await history(alice, room, 150)
        slow = {"hello": {}, "collector": {"config": {"delay": 0.02}}}
        config = bot_config(tmp_path, bot_account, alice.user_id, plugins=slow)
        bot = Bot(load_config(config))
        await bot.start()
        try:
            await until(collector(bot).seen, lambda s: len(s) >= 30)
        finally:
            # Cut short: the handlers still running are cancelled, the rest never ran.
            await bot.stop(drain_timeout=0.1)
        partly = await _seen_after_restart(config, bodies, alice, room, bot_account.user_id)
        assert {b: partly.get(b) for b in bodies if partly.get(b) != 1} == {}


async def _seen_after_restart(
    config: Path, bodies: list[str], alice: TestClient, room: RoomID, bot_id: Any
) -> dict[str, int]:
    async with running_bot(config) as bot:
        try:
            seen = await until(collector(bot).seen, lambda s: set(bodies) <= set(s), 30)
        except TimeoutError:
            return dict(await collector(bot).seen())
        await ask(alice, room, bot_id, "!hello", "greeting number 1")
    return seen


async def test_an_invite_accepted_at_start_up_follows_the_same_rule(
    synapse: Synapse, tmp_path: Path
) -> None:
    bot_account = synapse.register(unique("bot"))
    async with TestClient(synapse.register(unique("alice"))) as alice:
        config = bot_config(tmp_path, bot_account, alice.user_id, plugins=PLUGINS)
        async with running_bot(config):
            pass  # a sync position is stored
        room = await alice.create_room(invite=[bot_account.user_id])
        bodies = await history(alice, room, 60)
        async with running_bot(config) as bot:
            await wait_joined(alice, room, bot_account.user_id)
            seen = await until(collector(bot).seen, lambda s: set(bodies) <= set(s))
            await ask(alice, room, bot_account.user_id, "!hello", "greeting number 1")
        assert all(seen[b] == 1 for b in bodies)
        assert not [a for a in answers_from(alice, room, bot_account.user_id) if "reload" in a]
