"""A TWIM room on the fake homeserver: the test plays the people, a real bot runs twim.

The fake homeserver lets a test stamp events with any ``origin_server_ts`` and inject
what a misbehaving server would let through (a redaction by anyone), and it answers in
milliseconds. Each helper that waits does so for the bot's answer, which it sends after
it has handled the room's earlier events (one lane per room, in order).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mautrix.types import ContentURI, EventID, RoomID, UserID

from botkit.testing.botconfig import fakehs_account, write_bot_config
from botkit.testing.fakehs import FakeHomeserver, SentEvent

__all__ = ["FakeRoom", "fake_room", "now_ms"]

PLUGINS = Path(__file__).parents[2] / "plugins"


def now_ms() -> int:
    """The time now as ``origin_server_ts`` has it."""
    return int(time.time() * 1000)


@dataclass
class FakeRoom:
    """The TWIM room with its people: ``editor``, ``alice``, ``bob``, ``mod`` (localparts)."""

    hs: FakeHomeserver
    config: Path
    output: Path
    room: RoomID
    bot: UserID

    def user(self, name: str) -> UserID:
        """The full user ID of ``name``."""
        return UserID(f"@{name}:{self.hs.server_name}")

    def say(self, sender: str, body: str, *, ts: int | None = None) -> EventID:
        """A text message, stamped ``ts`` (default: now)."""
        content = {"msgtype": "m.text", "body": body}
        return self.hs.inject(self.room, sender, content, origin_server_ts=ts)

    def image(self, sender: str, url: str, filename: str) -> EventID:
        """An image message whose file is at ``url`` (well-formed or not)."""
        content = {"msgtype": "m.image", "body": filename, "url": url}
        return self.hs.inject(self.room, sender, content)

    def upload(self, data: bytes, filename: str) -> ContentURI:
        """A file on the server, as a client would have uploaded it."""
        return self.hs.add_media(data, "image/png", filename)

    def edit(self, sender: str, original: EventID, body: str, **new: Any) -> EventID:
        """An ``m.replace`` edit of ``original``; ``new`` adds to the new content."""
        content = {
            "msgtype": "m.text",
            "body": f"* {body}",
            "m.new_content": {"msgtype": "m.text", "body": body, **new},
            "m.relates_to": {"rel_type": "m.replace", "event_id": original},
        }
        return self.hs.inject(self.room, sender, content)

    def react(self, sender: str, target: EventID, key: str) -> EventID:
        """A reaction with ``key``."""
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": target, "key": key}}
        return self.hs.inject(self.room, sender, content, type="m.reaction")

    def redact(self, sender: str, target: EventID) -> EventID:
        """A redaction as a server passed it on, whoever sent it (no power check)."""
        event_id = EventID(f"$redaction{uuid.uuid4().hex}")
        self.hs.inject_raw(
            self.room,
            {
                "type": "m.room.redaction",
                "event_id": event_id,
                "sender": self.user(sender),
                "origin_server_ts": now_ms(),
                "redacts": target,
                "content": {"redacts": target},
            },
        )
        return event_id

    def include(self, target: EventID, *keys: str, notice: str = "⭕") -> None:
        """The editor includes ``target`` (with ``notice``) and reacts with each of ``keys``."""
        for key in (notice, *keys):
            self.react("editor", target, key)

    async def filed(self, sender: str, body: str, key: str = "🏢") -> EventID:
        """``sender``'s report, which the editor includes and files with ``key``; it
        returns once the bot has acknowledged it, so the report is in the week."""
        report = self.say(sender, body)
        self.include(report, key)
        await self.acked(report)
        return report

    async def bot_sends(
        self,
        matches: Callable[[SentEvent], bool],
        *,
        since: int = 0,
        timeout: float = 20,  # noqa: ASYNC109 (a test's bound on waiting, as in wait_for_sent)
    ) -> SentEvent:
        """Wait for the bot to send an event that ``matches``."""
        return await self.hs.wait_for_sent(
            lambda sent: sent.sender == self.bot and matches(sent), since=since, timeout=timeout
        )

    async def acked(self, target: EventID, *, since: int = 0) -> SentEvent:
        """Wait for the bot's ⭕ on ``target``."""

        def ack(sent: SentEvent) -> bool:
            relates = sent.content.get("m.relates_to") or {}
            return (
                sent.type == "m.reaction"
                and relates.get("event_id") == target
                and relates.get("key") == "⭕"
            )

        return await self.bot_sends(ack, since=since)

    async def ask(self, command: str, contains: str, *, sender: str = "editor") -> str:
        """Send ``command``; the body of the bot's answer that contains ``contains``."""
        since = len(self.hs.sent)
        self.hs.inject(self.room, sender, {"msgtype": "m.text", "body": command})

        def answer(sent: SentEvent) -> bool:
            return sent.type == "m.room.message" and contains in str(sent.content.get("body"))

        found = await self.bot_sends(answer, since=since)
        return str(found.content["body"])


def fake_room(hs: FakeHomeserver, tmp_path: Path, **twim: Any) -> FakeRoom:
    """The room (editor, alice, bob, mod and the bot joined) and a config for the bot.

    ``mod`` is a member like the others until a test gives it a power level.
    """
    for name in ("editor", "alice", "bob", "mod"):
        hs.create_user(name, displayname=name.capitalize())
    room = hs.create_room("editor", members=["alice", "bob", "mod", "bot"])
    output = tmp_path / "out"
    config = write_bot_config(
        tmp_path / "config.yaml",
        account=fakehs_account(hs),
        plugins={
            "twim": {
                "config": {
                    "rooms": [room],
                    "editors": [f"@editor:{hs.server_name}"],
                    "output_dir": str(output),
                    # These tests read the posts by the 2021 format's file names.
                    "template": "2021",
                    **twim,
                }
            }
        },
        plugin_dirs=[str(PLUGINS)],
    )
    return FakeRoom(hs, config, output, room, UserID(f"@bot:{hs.server_name}"))
