"""Encrypted events whose room key has not arrived yet, kept across restarts.

An event is written here before the sync token that passes it is stored, so a
crash never loses it. A row stays after its event was released (decrypted and
handed to the plugins) until :data:`KEEP_RELEASED_MS` passed: a crash before
the plugins' work was recorded releases it again, and the record of handled
events keeps that from repeating anything.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text, delete, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..storage import Storage, migrate

__all__ = ["HeldEvent", "HeldEvents"]

KEEP_RELEASED_MS = 3_600_000
_meta = MetaData()
_held = Table(
    "botkit_held_events",
    _meta,
    Column("event_id", String(255), primary_key=True),
    Column("room_id", String(255), nullable=False),
    Column("event", Text, nullable=False),
    Column("held_at", BigInteger, nullable=False),
    # Whether a room key request went out (once per event).
    Column("requested", Integer, nullable=False),
    Column("released_at", BigInteger, nullable=True),
)


async def _v1(conn: AsyncConnection, storage: Storage) -> None:
    await conn.run_sync(_meta.create_all)


@dataclass(slots=True)
class HeldEvent:
    """One encrypted event waiting for its key: its raw JSON and since when (ms)."""

    raw: dict[str, Any]
    held_at: int
    requested: bool = False
    released_at: int | None = None

    @property
    def event_id(self) -> str:
        """The event's ID."""
        return str(self.raw["event_id"])


class HeldEvents:
    """The ``botkit_held_events`` table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def setup(self) -> None:
        """Create or upgrade the table."""
        await migrate(Storage(self.engine, "botkit_crypto"), [_v1])

    async def load(self) -> list[HeldEvent]:
        """Every row, oldest first."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(_held).order_by(_held.c.held_at))
            return [
                HeldEvent(json.loads(r.event), r.held_at, bool(r.requested), r.released_at)
                for r in rows
            ]

    async def hold(self, raw: dict[str, Any]) -> HeldEvent:
        """Keep ``raw``; the caller has checked that it is not kept yet."""
        held = HeldEvent(raw, _now())
        async with self.engine.begin() as conn:
            await conn.execute(
                _held.insert().values(
                    event_id=held.event_id,
                    room_id=str(raw.get("room_id")),
                    event=json.dumps(raw),
                    held_at=held.held_at,
                    requested=0,
                )
            )
        return held

    async def mark(self, event_id: str, *, requested: bool = False, released: bool = False) -> None:
        """Note that a key request went out, or that the event was released."""
        values: dict[str, Any] = {}
        if requested:
            values["requested"] = 1
        if released:
            values["released_at"] = _now()
        async with self.engine.begin() as conn:
            await conn.execute(sql_update(_held).where(_held.c.event_id == event_id).values(values))

    async def forget(self, event_id: str) -> None:
        """Drop one row (an event given up on)."""
        async with self.engine.begin() as conn:
            await conn.execute(delete(_held).where(_held.c.event_id == event_id))

    async def prune(self) -> None:
        """Drop the rows of events released long enough ago."""
        before = _now() - KEEP_RELEASED_MS
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(_held).where(_held.c.released_at.is_not(None), _held.c.released_at < before)
            )


def _now() -> int:
    return int(time.time() * 1000)
