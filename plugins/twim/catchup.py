"""Silent catch-up: after downtime the bot keeps what it missed but says nothing in public.

An event that reaches the plugin long after it was sent came while the bot was down
(or before it joined the room). Reacting to it or answering it in the TWIM room would
bring week-old messages back to everyone's attention, so what the bot would have said
is held and goes to the editors' room as one summary, once the catch-up has settled.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import quote

from mautrix.types import EventID, MessageType, RoomID, TextMessageEventContent

from botkit import PluginClient

__all__ = ["LATE_AFTER_MS", "CatchUp", "message_link", "send_summary"]

LATE_AFTER_MS = 10 * 60 * 1000
"""How old an event may be when handled and still be answered where it was sent."""

_SETTLE_S = 2.0
"""How long no late event must have come before the summary goes out."""


def message_link(room_id: RoomID, event_id: EventID) -> str:
    """The matrix.to link of an event, as the editors' notices write it."""
    return f"https://matrix.to/#/{quote(room_id, safe='!:')}/{quote(event_id, safe='$:')}"


class CatchUp:
    """What the bot would have said about late events, until it is summarised."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._last = 0.0

    @staticmethod
    def late(sent_ms: int) -> bool:
        """Whether an event sent at ``sent_ms`` is too old to be answered in public."""
        return time.time() * 1000 - sent_ms > LATE_AFTER_MS

    def hold(self, room_id: RoomID, event_id: EventID, said: str) -> None:
        """Keep ``said`` about the event for the summary."""
        self._lines.append(f"- {message_link(room_id, event_id)}: {said}")
        self._last = time.monotonic()

    def summary(self) -> str | None:
        """The summary once the catch-up settled (and forget it), else None."""
        if not self._lines or time.monotonic() - self._last < _SETTLE_S:
            return None
        lines, self._lines = self._lines, []
        count = "1 message" if len(lines) == 1 else f"{len(lines)} messages"
        head = f"While I was away, {count} came that I did not answer in public:"
        return "\n".join([head, *lines])


async def send_summary(
    catchup: CatchUp, client: PluginClient, room: RoomID | None, log: logging.Logger
) -> None:
    """Send the settled summary to the editors' ``room``; without one, only log it."""
    summary = catchup.summary()
    if summary is None:
        return
    if room is None:
        log.info("no editor_room for the catch-up summary:\n%s", summary)
        return
    await client.send(room, TextMessageEventContent(msgtype=MessageType.NOTICE, body=summary))
