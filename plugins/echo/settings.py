"""The instance's config as a typed object: ``self.config`` of the plugin.

``config.yaml`` holds the defaults and what each key means; this class adds what a
default cannot say (see :mod:`botkit.config.typed`): room IDs that look like room IDs,
ranges, bounds in the right order. ``botkit check`` reports each problem.
"""

from __future__ import annotations

from typing import Any

import attrs
from mautrix.types import RoomID

from botkit.config import Invalid, between

__all__ = ["MAX_CHAT_ROWS", "MAX_DAYS", "EchoSettings"]

MAX_DAYS = 3650
"""The longest window or retention accepted, in days: ten years of pongs is plenty."""
MAX_CHAT_ROWS = 100
"""The most rows of a ranking in chat: more would not fit one readable message."""


def _room_ids(_settings: object, _attribute: Any, rooms: frozenset[RoomID]) -> None:
    for room in sorted(rooms):
        if not (room.startswith("!") and len(room) <= 255):
            raise Invalid("rooms", f"expected room IDs like '!abc:example.org', got {room!r}")


@attrs.frozen
class EchoSettings:
    """Everything the plugin reads from its config; see ``config.yaml`` for each key."""

    rooms: frozenset[RoomID] = attrs.field(validator=_room_ids)
    """Rooms whose pongs are recorded; empty means every room."""
    window_days: int = attrs.field(validator=between(1, MAX_DAYS))
    retention_days: int = attrs.field(validator=between(1, MAX_DAYS))
    min_ms: int
    max_ms: int
    top: int = attrs.field(validator=between(1, MAX_CHAT_ROWS))
    verify_pongs: bool
    """Whether a pong must name a ping of the room, sent from its ``from`` server."""
    disclaimer: str

    def __attrs_post_init__(self) -> None:
        if self.retention_days < self.window_days:
            # Pruning would silently shrink every ranking below its stated window.
            raise Invalid(
                "retention_days",
                f"must be at least window_days ({self.window_days}), not {self.retention_days}",
            )
        if self.min_ms > self.max_ms:
            raise Invalid("min_ms", f"must not exceed max_ms ({self.max_ms}), not {self.min_ms}")

    @property
    def window_s(self) -> int:
        """The ranking window in seconds."""
        return self.window_days * 86400

    def records(self, room_id: str) -> bool:
        """Whether pongs in ``room_id`` are recorded."""
        return not self.rooms or room_id in self.rooms
