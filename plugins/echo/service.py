"""Reading the pong store with the instance's settings: for commands, web pages and other plugins.

:class:`PingStats` is offered to other plugins under :data:`PING_STATS`; the twim
plugin calls :meth:`PingStats.ranking_markdown` for the weekly report's "Dept of Ping".
"""

from __future__ import annotations

import time
from typing import Any, Protocol, runtime_checkable

from mautrix.types import RoomID

from botkit import ServiceKey, Storage

from .export import pingstat_json, raw_json
from .render import ranking_markdown
from .settings import EchoSettings
from .stats import PongFilter, RankRow, ranking, responder_means

__all__ = ["PING_STATS", "PingRanking", "PingStats", "now_ms"]


@runtime_checkable
class PingRanking(Protocol):
    """What the ``ping-stats`` service promises other plugins (twim's "Dept of Ping")."""

    async def ranking_markdown(self, room_id: str, *, top: int = 10) -> str:
        """The ranking table of ``room_id`` in markdown, ``""`` when it has no pongs."""
        ...


PING_STATS = ServiceKey("ping-stats", PingRanking)
"""The key other plugins look the service up by (a Protocol: reloads keep it valid)."""


def now_ms() -> int:
    """The wall clock in epoch milliseconds, the unit of ``origin_server_ts``."""
    return int(time.time() * 1000)


class PingStats:
    """The room rankings as the instance's config defines them (window, latency bounds)."""

    def __init__(self, storage: Storage, settings: EchoSettings) -> None:
        self.storage = storage
        self.settings = settings

    async def ranking(
        self,
        room_id: RoomID,
        *,
        max_age_s: int | None = None,
        min_age_s: int = 0,
        limit: int | None = None,
    ) -> list[RankRow]:
        """The pinger servers of ``room_id`` by median latency (window: the config's by default)."""
        return await ranking(
            self.storage,
            room_id,
            now_ms=now_ms(),
            max_age_s=self.settings.window_s if max_age_s is None else max_age_s,
            min_age_s=min_age_s,
            min_ms=self.settings.min_ms,
            max_ms=self.settings.max_ms,
            limit=limit,
        )

    def where(
        self, room_id: RoomID, *, max_age_s: int | None = None, min_age_s: int = 0
    ) -> PongFilter:
        """The pongs of ``room_id`` counted over that window (the config's by default), now."""
        return PongFilter.of(
            room_id,
            now_ms(),
            self.settings.window_s if max_age_s is None else max_age_s,
            min_age_s,
            self.settings.min_ms,
            self.settings.max_ms,
        )

    async def export(
        self, room_id: RoomID, *, max_age_s: int | None = None, min_age_s: int = 0
    ) -> dict[str, Any]:
        """The room's measurements in the shape of pingstat's ``stats.json``."""
        max_age_s = self.settings.window_s if max_age_s is None else max_age_s
        where = self.where(room_id, max_age_s=max_age_s, min_age_s=min_age_s)
        # The window and bounds applied, so that a capped or defaulted query shows.
        extras = {
            "max_age": max_age_s,
            "min_age": min_age_s,
            "min_ms": where.min_ms,
            "max_ms": where.max_ms,
        }
        return await pingstat_json(
            self.storage, where, disclaimer=self.settings.disclaimer, extras=extras
        )

    async def raw(
        self, room_id: RoomID, *, max_age_s: int | None = None, min_age_s: int = 0
    ) -> bytes:
        """The room's pongs as pingstat's ``stats.raw.json`` (JSON text), oldest first."""
        return await raw_json(
            self.storage, self.where(room_id, max_age_s=max_age_s, min_age_s=min_age_s)
        )

    async def responder_means(
        self, room_id: RoomID, *, max_age_s: int | None = None, min_age_s: int = 0
    ) -> dict[str, dict[str, tuple[float, int]]]:
        """Per pinger server, per responding server: (mean latency, pongs)."""
        return await responder_means(
            self.storage, self.where(room_id, max_age_s=max_age_s, min_age_s=min_age_s)
        )

    async def ranking_markdown(self, room_id: str, *, top: int = 10) -> str:
        """The "Dept of Ping" table of ``room_id`` over the configured window, ``""`` if empty."""
        if top < 1:
            return ""
        rows = await self.ranking(RoomID(room_id), limit=top)
        return ranking_markdown(rows, top) if rows else ""
