"""The instance's config as typed values, checked when the plugin starts.

botkit has already checked each value's type against ``config.yaml``; what is checked
here is what a type cannot say: room IDs that look like room IDs, positive durations,
bounds in the right order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mautrix.types import RoomID

__all__ = ["MAX_DAYS", "EchoSettings", "SettingsError"]

MAX_DAYS = 3650
"""The longest window or retention accepted, in days: ten years of pongs is plenty."""


class SettingsError(ValueError):
    """A config value the plugin cannot work with; the message names the key."""


@dataclass(frozen=True, slots=True)
class EchoSettings:
    """Everything the plugin reads from its config; see ``config.yaml`` for each key."""

    rooms: frozenset[RoomID]
    """Rooms whose pongs are recorded; empty means every room."""
    window_days: int
    retention_days: int
    min_ms: int
    max_ms: int
    top: int
    verify_pongs: bool
    """Whether a pong must name a ping of the room, sent from its ``from`` server."""
    disclaimer: str

    @property
    def window_s(self) -> int:
        """The ranking window in seconds."""
        return self.window_days * 86400

    def records(self, room_id: str) -> bool:
        """Whether pongs in ``room_id`` are recorded."""
        return not self.rooms or room_id in self.rooms

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EchoSettings:
        """Read and check ``config``; :class:`SettingsError` names the first bad key."""
        rooms = config["rooms"]
        for i, room in enumerate(rooms):
            if not (isinstance(room, str) and room.startswith("!") and len(room) <= 255):
                raise SettingsError(f"rooms[{i}]: expected a room ID like '!abc:example.org'")
        settings = cls(
            rooms=frozenset(RoomID(room) for room in rooms),
            window_days=_days(config, "window_days"),
            retention_days=_days(config, "retention_days"),
            min_ms=int(config["min_ms"]),
            max_ms=int(config["max_ms"]),
            top=int(config["top"]),
            verify_pongs=bool(config["verify_pongs"]),
            disclaimer=str(config["disclaimer"]),
        )
        if settings.retention_days < settings.window_days:
            # Pruning would silently shrink every ranking below its stated window.
            raise SettingsError(
                f"retention_days: must be at least window_days ({settings.window_days}), "
                f"not {settings.retention_days}"
            )
        if settings.min_ms > settings.max_ms:
            raise SettingsError(
                f"min_ms: must not exceed max_ms ({settings.max_ms}), not {settings.min_ms}"
            )
        if settings.top < 1:
            raise SettingsError(f"top: must be at least 1, not {settings.top}")
        return settings


def _days(config: Mapping[str, Any], key: str) -> int:
    days = int(config[key])
    if not 1 <= days <= MAX_DAYS:
        raise SettingsError(f"{key}: must be from 1 to {MAX_DAYS} days, not {days}")
    return days
