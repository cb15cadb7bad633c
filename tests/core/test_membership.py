"""Leaves, kicks and bans reach plugins; a banned bot stops sending to that room."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from botkit.errors import SendError
from botkit.membership import RoomAccess
from botkit.testing.matrix import TestClient
from botkit.testing.synapse import Synapse, unique
from botkit.testing.talk import eventually, wait_joined
from tests.core.conversation_world import Talk, talk


@pytest.fixture
async def world(synapse: Synapse, tmp_path: Path) -> AsyncIterator[Talk]:
    async with talk(synapse, tmp_path) as w:
        yield w


def test_only_the_bot_s_own_ban_counts_and_a_rejoin_lifts_it() -> None:
    access = RoomAccess("@bot:x")
    ban = {"type": "m.room.member", "state_key": "@bot:x", "sender": "@mod:x"}
    access.note("!r:x", {**ban, "state_key": "@eve:x", "content": {"membership": "ban"}})
    assert access.banned("!r:x") is None
    access.note("!r:x", {**ban, "content": {"membership": "ban", "reason": "spam"}})
    assert access.banned("!r:x") == "banned by @mod:x: spam"
    access.note("!r:x", {**ban, "content": "nonsense"})
    assert access.banned("!r:x") is not None
    access.note("!r:x", {**ban, "content": {"membership": "join"}})
    assert access.banned("!r:x") is None


async def test_kicks_and_bans_reach_plugins_and_a_banned_bot_stops_sending(
    synapse: Synapse, world: Talk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "botkit.membership")
    # The bot imports plugins under names of its own: the class is not this module's Answers.
    answers: Any = world.bot.instances["answers"].plugin
    room = world.room
    async with TestClient(synapse.register(unique("bob"))) as bob:
        await world.alice.invite(room, bob.user_id)
        await bob.accept_invite(room)
        await wait_joined(world.alice, room, bob.user_id)
        await world.alice.client.kick_user(room, bob.user_id, reason="bye")
        await world.alice.client.ban_user(room, world.bot_id, reason="too chatty")

        def seen() -> bool:
            return (room, world.bot_id, "ban") in answers.changes

        await eventually(seen, what="the bot's own ban reaching the plugin")
    assert (room, bob.user_id, "kick") in answers.changes
    with pytest.raises(SendError, match=r"banned by .*: too chatty"):
        await answers.client.send_text(room, "still there?")
    with pytest.raises(SendError):
        await answers.client.send_text(room, "and now?")
    warnings = [r for r in caplog.records if "sends nothing more there" in r.getMessage()]
    assert len(warnings) == 1
