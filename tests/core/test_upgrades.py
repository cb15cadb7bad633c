"""Room upgrades: the bot follows a tombstone to the new room, with config and data."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from mautrix.api import Method
from mautrix.api import Path as ApiPath
from mautrix.types import JSON, Membership, MessageEvent, RoomCreatePreset, RoomID, UserID

from botkit.cli import main
from botkit.testing.bot import running_bot
from botkit.testing.harness import plugin_harness
from botkit.testing.matrix import TestClient
from botkit.testing.synapse import Synapse, unique
from botkit.testing.talk import ask, wait_joined
from botkit.upgrades import follow_config, outdated_rooms
from plugins.echo.pong import build_pong
from tests.core.conversation_world import bot_config

ECHO = Path(__file__).parents[2] / "plugins" / "echo"
UPGRADES = {"!old:x": "!mid:x", "!mid:x": "!new"}


def test_config_follows_upgrades_lists_keep_the_old_room() -> None:
    config: dict[str, Any] = {
        "rooms": ["!old:x", "!other:x"],
        "main": "!mid:x",
        "nested": [{"room": "!old:x"}],
        "n": 3,
    }
    assert follow_config(config, UPGRADES) == {
        "rooms": ["!old:x", "!new", "!other:x"],
        "main": "!new",
        "nested": [{"room": "!new"}],
        "n": 3,
    }
    assert config["rooms"] == ["!old:x", "!other:x"]  # a copy, not changed in place
    # Following twice changes nothing more.
    once = follow_config(config, UPGRADES)
    assert follow_config(once, UPGRADES) == once


def test_outdated_rooms_name_the_key() -> None:
    lines = outdated_rooms({"rooms": ["!a:x", "!old:x"]}, UPGRADES, "plugins.p.config")
    assert len(lines) == 1
    assert lines[0].startswith("plugins.p.config.rooms[1]: room !old:x was upgraded to !new")


async def upgrade(client: TestClient, room: RoomID, version: str) -> RoomID:
    """Upgrade ``room`` (``POST /rooms/{roomId}/upgrade``); the replacement's ID."""
    path = ApiPath.v3.rooms[room].upgrade
    resp = await client.client.api.request(Method.POST, path, {"new_version": version})
    return RoomID(resp["replacement_room"])


@pytest.mark.parametrize(
    ("version", "preset"),
    [
        ("10", RoomCreatePreset.PUBLIC),
        ("12", RoomCreatePreset.PUBLIC),
        # Invite-only: the bot cannot join until invited, as Element invites the members.
        ("12", RoomCreatePreset.PRIVATE),
    ],
)
async def test_an_upgraded_room_is_followed_with_its_config_and_data(
    synapse: Synapse,
    tmp_path: Path,
    version: str,
    preset: RoomCreatePreset,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bot_account = synapse.register(unique("bot"))
    alice_account = synapse.register(unique("alice"))
    bot = bot_account.user_id
    async with TestClient(alice_account) as alice:
        old = await alice.create_room(invite=[bot], preset=preset)
        config = bot_config(
            tmp_path,
            bot_account,
            alice.user_id,
            plugins={"rooms": {"config": {"rooms": [old]}}},
        )
        async with running_bot(config):
            await wait_joined(alice, old, bot)
            await alice.send_text(old, "one")
            await alice.send_text(old, "two")
            await ask(alice, old, bot, "!count", "2 messages, watched")

            new = await upgrade(alice, old, version)
            if preset == RoomCreatePreset.PRIVATE:
                await alice.invite(new, bot)

            await wait_joined(alice, new, bot)
            await alice.send_text(new, "three")
            await ask(alice, new, bot, "!count", "3 messages, watched")
        await asyncio.to_thread(main, ["check", "-c", str(config)])
        out = capsys.readouterr().out
        assert f"plugins.rooms.config.rooms[0]: room {old} was upgraded to {new}" in out
        # After a restart the config still names only the old room, and it still works.
        async with running_bot(config):
            await alice.send_text(new, "four")
            await ask(alice, new, bot, "!count", "4 messages, watched")
        assert _joins(alice, new, bot) == 1


def _joins(alice: TestClient, room: RoomID, user: UserID) -> int:
    """How many times ``user`` joined ``room``, as ``alice`` saw it."""
    # A state event may be seen both in a sync's state and in its timeline.
    return len(
        {
            e.event_id
            for e in alice.events
            if getattr(e, "room_id", None) == room
            and getattr(e, "state_key", None) == user
            and getattr(getattr(e, "content", None), "membership", None) == Membership.JOIN
        }
    )


async def test_echo_s_pongs_follow_the_upgrade(tmp_path: Path) -> None:
    old, new = RoomID("!old:example.org"), RoomID("!new:example.org")
    config = {"verify_pongs": False, "min_ms": 0}
    now_ms = int(time.time() * 1000)
    async with plugin_harness(ECHO, config=config, tmp_path=tmp_path) as h:
        ping = MessageEvent.deserialize(
            JSON(
                {
                    "type": "m.room.message",
                    "room_id": old,
                    "event_id": "$ping",
                    "sender": "@alice:a.org",
                    "origin_server_ts": now_ms - 437,
                    "content": {"msgtype": "m.text", "body": "!ping"},
                }
            )
        )
        pong = build_pong(ping, now_ms=now_ms, text=None)
        sender = "@echo:b.org"
        await h.event({"type": "m.room.message", "room_id": old, "sender": sender, "content": pong})

        await h.plugin.on_room_upgrade(old, new)

        await h.command("!pingstats", room=new)
        assert "a.org" in h.replies(new)[-1]
