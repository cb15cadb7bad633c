"""A TWIM room on a real Synapse: an editor, two reporters, and the bot's config.

The bot itself is started by each test with :func:`botkit.testing.bot.running_bot`, so
that it can be stopped and started again between steps.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mautrix.types import (
    Event,
    EventID,
    ReactionEvent,
    RedactionEvent,
    RoomCreatePreset,
    RoomID,
    UserID,
)

from botkit.testing.botconfig import write_bot_config
from botkit.testing.matrix import TestClient
from botkit.testing.synapse import MatrixAccount, Synapse

REPO = Path(__file__).parents[2]
PLUGIN_DIRS = [str(REPO / "plugins"), str(Path(__file__).parent / "plugins")]
PING_ROOM = "!pingroom:example.org"
PING_TABLE = (
    "|Rank|Hostname|Median MS|\n|:---:|:---:|:---:|\n|1|envs.net|437|\n|2|blackline.xyz|975.5|"
)


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG of one colour, for an upload a browser can show."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@dataclass
class World:
    """The people in the TWIM room and the bot's config file."""

    config: Path
    output: Path
    bot: MatrixAccount
    editor: TestClient
    alice: TestClient
    bob: TestClient
    room: RoomID
    admin_room: RoomID | None = None

    @property
    def bot_id(self) -> UserID:
        """The bot's user ID."""
        return self.bot.user_id

    async def bot_reaction(self, target: EventID, key: str) -> EventID:
        """Wait until the bot reacts to ``target`` with ``key``; its reaction's id."""

        def matches(evt: Event) -> bool:
            relates = getattr(evt.content, "relates_to", None)
            return (
                isinstance(evt, ReactionEvent)
                and evt.sender == self.bot_id
                and relates is not None
                and relates.event_id == target
                and relates.key == key
            )

        found = await self.editor.wait_for(matches, 60)
        return EventID(found.event_id)

    async def bot_redaction(self, redacted: EventID) -> None:
        """Wait until the bot redacts ``redacted``."""

        def matches(evt: Event) -> bool:
            return (
                isinstance(evt, RedactionEvent)
                and evt.sender == self.bot_id
                and redacted in (evt.redacts, getattr(evt.content, "redacts", None))
            )

        await self.editor.wait_for(matches, 60)

    def bot_reactions_to(self, target: EventID) -> list[str]:
        """The keys of the bot's reactions to ``target`` seen so far."""
        return [
            evt.content.relates_to.key
            for evt in self.editor.events
            if isinstance(evt, ReactionEvent)
            and evt.sender == self.bot_id
            and evt.content.relates_to.event_id == target
        ]


async def _person(synapse: Synapse, stack: AsyncExitStack, name: str) -> TestClient:
    account = synapse.register(f"{name.lower()}{uuid.uuid4().hex[:8]}")
    client = await stack.enter_async_context(TestClient(account))
    await client.client.set_displayname(name)
    return client


@asynccontextmanager
async def twim_world(
    synapse: Synapse, tmp_path: Path, *, admin_room: bool = False, **twim: Any
) -> AsyncIterator[World]:
    """The room with everyone in it (the bot is only invited) and a config for the bot;
    with ``admin_room`` also an editors' room (Hebbot's admin room) of the editor's."""
    async with AsyncExitStack() as stack:
        bot = synapse.register(f"twimbot{uuid.uuid4().hex[:8]}")
        editor = await _person(synapse, stack, "Editor")
        alice = await _person(synapse, stack, "Alice")
        bob = await _person(synapse, stack, "Bob")
        room = await editor.create_room(
            invite=[bot.user_id, alice.user_id, bob.user_id], preset=RoomCreatePreset.PRIVATE
        )
        await alice.join(room)
        await bob.join(room)
        if admin_room:
            admin = await editor.create_room(invite=[bot.user_id])
            twim = {"editor_room": admin, **twim}
        output = tmp_path / "out"
        config = write_bot_config(
            tmp_path / "config.yaml",
            account=bot,
            plugins={
                "twim": {
                    "config": {
                        "rooms": [room],
                        "editors": [editor.user_id],
                        "output_dir": str(output),
                        "ping_room": PING_ROOM,
                        "ping_room_alias": "#ping:maunium.net",
                        # The end-to-end tests check the 2021 format's conventions.
                        "template": "2021",
                        **twim,
                    }
                },
                "fakeping": {"config": {"room": PING_ROOM, "table": PING_TABLE}},
            },
            plugin_dirs=PLUGIN_DIRS,
        )
        await editor.start_sync()
        yield World(config, output, bot, editor, alice, bob, room, twim.get("editor_room"))
