"""botkit's own tables: the sync token, the login, which events were handled, room upgrades.

``botkit_handled`` holds one row per (plugin instance, event) that finished;
together with the sync token it is written in one transaction, once per sync
batch or, when batches come quickly, once for all those of a second, so that a
crash at any moment leaves a consistent record.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .storage import Storage, migrate

__all__ = ["StateStore"]

_meta = MetaData()
_state = Table(
    "botkit_state",
    _meta,
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
)
_handled = Table(
    "botkit_handled",
    _meta,
    Column("instance", String(255), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("handled_at", BigInteger, nullable=False, index=True),
)

# Its own MetaData: version 1 creates every table of ``_meta`` as it was then.
_upgrades_meta = MetaData()
_upgrades = Table(
    "botkit_room_upgrades",
    _upgrades_meta,
    # "<owner>|<old room ID>", as the keys of botkit_state.
    Column("old_room", String(255), primary_key=True),
    Column("new_room", String(255), nullable=False),
    Column("upgraded_at", BigInteger, nullable=False),
)


def _insert_for(dialect: str) -> Callable[[Table], Any]:
    """The dialect's INSERT with ``ON CONFLICT``, imported only for the dialect in use
    (the PostgreSQL one alone costs 2 MB of memory and 30 ms of start-up)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    from sqlalchemy.dialects import sqlite

    return sqlite.insert


async def _v1(conn: AsyncConnection, storage: Storage) -> None:
    await conn.run_sync(_meta.create_all)


async def _v2_room_upgrades(conn: AsyncConnection, storage: Storage) -> None:
    """Which room replaced which (``m.room.tombstone``), so that config naming old rooms works."""
    await conn.run_sync(_upgrades_meta.create_all)


class StateStore:
    """Reads and writes botkit's own state."""

    def __init__(self, engine: AsyncEngine, owner: str) -> None:
        self.engine = engine
        # Keys are per bot account, so that two bots may share one database.
        self.owner = owner
        self._insert = _insert_for(engine.dialect.name)

    async def setup(self) -> None:
        """Create or upgrade botkit's tables."""
        await migrate(Storage(self.engine, "botkit"), [_v1, _v2_room_upgrades])

    async def get(self, key: str) -> str | None:
        """A stored value, or None."""
        async with self.engine.connect() as conn:
            row = await conn.execute(
                select(_state.c.value).where(_state.c.key == f"{self.owner}|{key}")
            )
            return row.scalar_one_or_none()

    async def put(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        async with self.engine.begin() as conn:
            await self._put(conn, key, value)

    async def put_many(self, values: dict[str, str]) -> None:
        """Store several values at once: all of them or, after a crash, none."""
        async with self.engine.begin() as conn:
            for key, value in values.items():
                await self._put(conn, key, value)

    async def _put(self, conn: AsyncConnection, key: str, value: str) -> None:
        key = f"{self.owner}|{key}"
        stmt = self._insert(_state).values(key=key, value=value)
        await conn.execute(
            stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value})
        )

    async def commit(self, handled: Sequence[tuple[str, str]], token: str | None) -> None:
        """Record finished (instance, event id) pairs and the sync token, atomically.

        Shielded: a caller being cancelled must not cut the transaction off
        half-way (SQLite would keep the write lock of the abandoned connection).
        """
        await asyncio.shield(self._commit(handled, token))

    async def _commit(self, handled: Sequence[tuple[str, str]], token: str | None) -> None:
        now = int(time.time() * 1000)
        async with self.engine.begin() as conn:
            if handled:
                rows = [
                    {"instance": f"{self.owner}|{i}", "event_id": e, "handled_at": now}
                    for i, e in handled
                ]
                await conn.execute(self._insert(_handled).on_conflict_do_nothing(), rows)
            if token is not None:
                await self._put(conn, "sync_token", token)

    async def handled_among(self, event_ids: Iterable[str]) -> set[tuple[str, str]]:
        """Which of these events were already handled, and by which instance."""
        ids = list(set(event_ids))
        found: set[tuple[str, str]] = set()
        async with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                rows = await conn.execute(
                    select(_handled.c.instance, _handled.c.event_id).where(
                        _handled.c.event_id.in_(ids[start : start + 500])
                    )
                )
                prefix = f"{self.owner}|"
                found.update(
                    (r[0].removeprefix(prefix), r[1]) for r in rows if r[0].startswith(prefix)
                )
        return found

    async def prune(self, older_than_ms: int) -> int:
        """Forget handled events recorded before ``older_than_ms``; returns how many."""
        return await asyncio.shield(self._prune(older_than_ms))

    async def _prune(self, older_than_ms: int) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(_handled).where(_handled.c.handled_at < older_than_ms)
            )
            return result.rowcount or 0

    async def record_upgrade(self, old_room: str, new_room: str) -> bool:
        """Record that ``new_room`` replaced ``old_room``; False if that was known already."""
        stmt = self._insert(_upgrades).values(
            old_room=f"{self.owner}|{old_room}",
            new_room=new_room,
            upgraded_at=int(time.time() * 1000),
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(stmt.on_conflict_do_nothing())
            return bool(result.rowcount)

    async def upgrades(self) -> dict[str, str]:
        """Every recorded upgrade: old room ID -> the room that replaced it."""
        prefix = f"{self.owner}|"
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(_upgrades.c.old_room, _upgrades.c.new_room).where(
                    _upgrades.c.old_room.startswith(prefix, autoescape=True)
                )
            )
            return {old.removeprefix(prefix): new for old, new in rows}
