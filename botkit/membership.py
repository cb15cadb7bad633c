"""The bot's own membership: which rooms it was banned from, and what a change means.

A room the bot has left, been kicked or banned from arrives in the ``leave``
section of /sync (spec: "Syncing"); the syncer hands its events to plugins like
any other, so a plugin sees ``m.room.member`` events of the bot's own leave,
kick and ban too. Once banned, the bot sends nothing more there: each send to
that room fails at once with :class:`~botkit.errors.SendError`, and the ban is
logged once, when it is seen.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Literal

from mautrix.types import StateEvent

__all__ = ["Change", "RoomAccess", "left_timelines", "membership_change"]

log = logging.getLogger("botkit.membership")

Change = Literal["join", "invite", "leave", "kick", "ban", "unban", "knock"]
"""What an ``m.room.member`` event did to its ``state_key``."""


def membership_change(event: StateEvent) -> Change | None:
    """What ``event`` (an ``m.room.member``) did: a leave by someone else is a kick.

    None for an event that is no membership change botkit can read.
    """
    membership = getattr(getattr(event.content, "membership", None), "value", None)
    previous = getattr(getattr(event, "prev_content", None), "membership", None)
    previous = getattr(previous, "value", previous)
    if membership == "leave":
        if previous == "ban":
            return "unban"
        return "leave" if event.sender == event.state_key else "kick"
    changes: dict[object, Change] = {
        "join": "join",
        "invite": "invite",
        "ban": "ban",
        "knock": "knock",
    }
    return changes.get(membership)


class RoomAccess:
    """The rooms the bot is banned from, as the sync loop saw its own membership."""

    def __init__(self, bot: str) -> None:
        self.bot = bot
        self._banned: dict[str, str] = {}

    def banned(self, room_id: str) -> str | None:
        """Why the bot may not send to ``room_id`` (who banned it, and why); None if it may."""
        return self._banned.get(room_id)

    def note(self, room_id: str, raw: Any) -> None:
        """Read ``raw``, an event from ``room_id``'s timeline or state, for the bot's own ban."""
        if not (
            isinstance(raw, dict)
            and raw.get("type") == "m.room.member"
            and raw.get("state_key") == self.bot
        ):
            return
        content = raw.get("content")
        membership = content.get("membership") if isinstance(content, dict) else None
        if membership == "ban":
            if room_id in self._banned:
                return
            reason = content.get("reason") if isinstance(content, dict) else None
            why = f"banned by {raw.get('sender')}" + (f": {reason}" if reason else "")
            self._banned[room_id] = why
            log.warning("the bot was %s in %s; it sends nothing more there", why, room_id)
        elif membership in ("join", "invite") and room_id in self._banned:
            del self._banned[room_id]
            log.warning("the bot is no longer banned in %s", room_id)


def left_timelines(data: dict[str, Any]) -> Iterator[tuple[str, list[Any]]]:
    """(room ID, timeline events) of each room in a sync answer's ``leave`` section."""
    left = data.get("rooms", {}).get("leave", {})
    for room_id, room in left.items() if isinstance(left, dict) else ():
        timeline = room.get("timeline", {}) if isinstance(room, dict) else {}
        events = timeline.get("events", []) if isinstance(timeline, dict) else []
        if isinstance(events, list):
            yield room_id, events
