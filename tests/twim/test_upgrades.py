"""Room upgrades: twim follows its rooms to their replacements and keeps the week."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from mautrix.types import RoomID

from botkit.testing.harness import PluginHarness, plugin_harness
from plugins.twim.plugin import PING_STATS

TWIM = Path(__file__).parents[2] / "plugins" / "twim"
EDITOR = "@editor:example.org"
OLD, NEW = RoomID("!twim-old:example.org"), RoomID("!twim-new:example.org")
ADMIN_OLD, ADMIN_NEW = RoomID("!admin-old:example.org"), RoomID("!admin-new:example.org")
PING_OLD, PING_NEW = RoomID("!ping-old:example.org"), RoomID("!ping-new:example.org")
TABLE = "|Rank|Hostname|Median MS|\n|:---:|:---:|:---:|\n|1|new-ping-room.org|42|"


class PingStats:
    """The echo plugin's ``ping-stats``: after the upgrade only the new room ranks."""

    async def ranking_markdown(self, room_id: str, *, top: int = 10) -> str:
        return TABLE if room_id == PING_NEW else ""


async def _report(h: PluginHarness, room: RoomID, sender: str, body: str) -> str:
    event_id = f"$report-{uuid.uuid4().hex}"
    await h.event(
        {
            "type": "m.room.message",
            "room_id": room,
            "sender": sender,
            "event_id": event_id,
            "content": {"msgtype": "m.text", "body": body},
        }
    )
    for key in ("⭕", "🤖"):
        await h.event(
            {
                "type": "m.reaction",
                "room_id": room,
                "sender": EDITOR,
                "content": {
                    "m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}
                },
            }
        )
    return event_id


async def test_the_week_follows_upgraded_rooms(tmp_path: Path) -> None:
    config: dict[str, Any] = {
        "rooms": [OLD],
        "editors": [EDITOR],
        "editor_room": ADMIN_OLD,
        "ping_room": PING_OLD,
        "output_dir": str(tmp_path / "out"),
    }
    async with plugin_harness(TWIM, config=config, tmp_path=tmp_path) as h:
        await _report(h, OLD, "@alice:example.org", "Alice's bot learned to count before")
        for old, new in ((OLD, NEW), (ADMIN_OLD, ADMIN_NEW), (PING_OLD, PING_NEW)):
            await h.plugin.on_room_upgrade(old, new)
            await h.plugin.on_room_upgrade(old, new)  # told again after a crash
        # As after a restart: the config still names the old rooms only.
        await h.restart()
        # Provided by another instance, as echo would: twim's restart does not withdraw it.
        h.instance.host.services.provide("echo", PING_STATS, PingStats())

        report = await _report(h, NEW, "@bob:example.org", "Bob's bot learned to count after")
        assert (NEW, report, "⭕") in [(r.room_id, r.event_id, r.key) for r in h.reactions]

        await h.command("!twim status", sender=EDITOR, room=ADMIN_NEW)
        assert "2 entries" in h.replies(ADMIN_NEW)[-1]

        await h.command("!twim say The week is closing", sender=EDITOR, room=ADMIN_NEW)
        assert h.replies(NEW)[-1] == "The week is closing"
        assert not [text for text in h.replies(OLD) if "closing" in text]

        await h.command("!twim publish 2026-12-04", sender=EDITOR, room=ADMIN_NEW)
        post = next((tmp_path / "out").rglob("*.md")).read_text()
    assert "count before" in post
    assert "count after" in post
    assert "new-ping-room.org" in post
