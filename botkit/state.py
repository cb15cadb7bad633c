"""botkit's own tables: the sync token, the login, what became of each event, room upgrades.

``botkit_handled`` holds one row per (plugin instance, event) that finished;
``botkit_pending`` the events whose handling failed and waits for a retry (or
that wait behind such an event in their lane), and ``botkit_dead_letters``
those that failed too often. All three and the sync token are written in one
transaction (see :class:`~botkit.changes.Changes`), once per sync batch or, when batches come
quickly, once for all those of a second, so that a crash at any moment leaves
a consistent record: a stored token never passes an event that is neither
handled nor pending.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .changes import Changes, DeadLetter, PendingRow
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
_pending = Table(
    "botkit_pending",
    _meta,
    Column("instance", String(255), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("room_id", String(255), nullable=False),
    # The order events came in, across restarts: a lane's events are retried in it.
    Column("seq", BigInteger, nullable=False, index=True),
    Column("event", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", Text, nullable=False),
    # Set by ``botkit replay``: a running bot picks such rows up.
    Column("replayed", Integer, nullable=False, index=True),
)
_dead = Table(
    "botkit_dead_letters",
    _meta,
    Column("instance", String(255), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("room_id", String(255), nullable=False),
    Column("event", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("failed_at", BigInteger, nullable=False),
)

_upgrades = Table(
    "botkit_room_upgrades",
    _meta,
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
    await conn.run_sync(lambda sync: _meta.create_all(sync, tables=[_state, _handled]))


async def _v2(conn: AsyncConnection, storage: Storage) -> None:
    """Failed events are kept for a retry, and parked when they fail too often."""
    await conn.run_sync(lambda sync: _meta.create_all(sync, tables=[_pending, _dead]))


async def _v3(conn: AsyncConnection, storage: Storage) -> None:
    """Which room replaced which (``m.room.tombstone``), so that config naming old rooms works."""
    await conn.run_sync(lambda sync: _meta.create_all(sync, tables=[_upgrades]))


class StateStore:
    """Reads and writes botkit's own state."""

    def __init__(self, engine: AsyncEngine, owner: str) -> None:
        self.engine = engine
        # Keys are per bot account, so that two bots may share one database.
        self.owner = owner
        self._insert = _insert_for(engine.dialect.name)

    async def setup(self) -> None:
        """Create or upgrade botkit's tables."""
        await migrate(Storage(self.engine, "botkit"), [_v1, _v2, _v3])

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

    async def commit(self, changes: Changes, token: str | None) -> None:
        """Write ``changes`` and the sync token, atomically.

        Shielded: a caller being cancelled must not cut the transaction off
        half-way (SQLite would keep the write lock of the abandoned connection).
        """
        await asyncio.shield(self._commit(changes, token))

    def _owned(self, instance: str) -> str:
        return f"{self.owner}|{instance}"

    async def _commit(self, changes: Changes, token: str | None) -> None:
        now = int(time.time() * 1000)
        async with self.engine.begin() as conn:
            if changes.handled:
                rows = [
                    {"instance": self._owned(i), "event_id": e, "handled_at": now}
                    for i, e in changes.handled
                ]
                await conn.execute(self._insert(_handled).on_conflict_do_nothing(), rows)
            if changes.resolved:
                keys = [(self._owned(i), e) for i, e in changes.resolved]
                for start in range(0, len(keys), 200):
                    await conn.execute(
                        delete(_pending).where(
                            tuple_(_pending.c.instance, _pending.c.event_id).in_(
                                keys[start : start + 200]
                            )
                        )
                    )
            if changes.pending:
                await self._upsert(
                    conn, _pending, [self._pending_row(r) for r in changes.pending.values()]
                )
            if changes.dead:
                rows = [
                    {
                        "instance": self._owned(d.instance),
                        "event_id": d.event_id,
                        "room_id": d.room_id,
                        "event": d.event,
                        "attempts": d.attempts,
                        "error": d.error,
                        "failed_at": d.failed_at or now,
                    }
                    for d in changes.dead.values()
                ]
                await self._upsert(conn, _dead, rows)
            if token is not None:
                await self._put(conn, "sync_token", token)

    def _pending_row(self, row: PendingRow) -> dict[str, Any]:
        return {
            "instance": self._owned(row.instance),
            "event_id": row.event_id,
            "room_id": row.room_id,
            "seq": row.seq,
            "event": row.event,
            "attempts": row.attempts,
            "error": row.error,
            "replayed": int(row.replayed),
        }

    async def _upsert(
        self, conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]
    ) -> None:
        stmt = self._insert(table)
        keys = {"instance", "event_id"}
        changed = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
        await conn.execute(
            stmt.on_conflict_do_update(index_elements=sorted(keys), set_=changed), rows
        )

    async def pending(self, *, replayed_only: bool = False) -> list[PendingRow]:
        """This bot's pending events, oldest first (only those ``botkit replay`` added)."""
        only = [_pending.c.replayed == 1] if replayed_only else []
        rows = await self._owned_rows(_pending, _pending.c.seq, *only)
        return [PendingRow(**(row | {"replayed": bool(row["replayed"])})) for row in rows]

    async def dead_letters(self, instance: str | None = None) -> list[DeadLetter]:
        """This bot's dead letters (of one instance), oldest first."""
        only = [] if instance is None else [_dead.c.instance == self._owned(instance)]
        return [
            DeadLetter(**row) for row in await self._owned_rows(_dead, _dead.c.failed_at, *only)
        ]

    async def _owned_rows(
        self, table: Table, order: ColumnElement[Any], *where: ColumnElement[bool]
    ) -> list[dict[str, Any]]:
        """This bot's rows of ``table``, in ``order``, with instance names as configured."""
        prefix = f"{self.owner}|"
        query = select(table).where(table.c.instance.startswith(prefix, autoescape=True), *where)
        async with self.engine.connect() as conn:
            rows = await conn.execute(query.order_by(order))
            return [
                dict(row._mapping) | {"instance": row.instance.removeprefix(prefix)} for row in rows
            ]

    async def dead_letter_counts(self) -> dict[str, int]:
        """How many dead letters each instance has."""
        query = (
            select(_dead.c.instance, func.count())
            .where(_dead.c.instance.startswith(f"{self.owner}|", autoescape=True))
            .group_by(_dead.c.instance)
        )
        async with self.engine.connect() as conn:
            rows = await conn.execute(query)
            return {r[0].removeprefix(f"{self.owner}|"): int(r[1]) for r in rows}

    async def replay(self, instance: str, event_id: str | None = None) -> list[str]:
        """Move dead letters of ``instance`` (all, or one event) back to pending; their IDs.

        They get a fresh count of attempts and are marked, so that a running bot
        picks them up (see :meth:`pending`); a stopped one retries them when it starts.
        """
        where = _dead.c.instance == self._owned(instance)
        if event_id is not None:
            where = and_(where, _dead.c.event_id == event_id)
        seq = time.time_ns()
        async with self.engine.begin() as conn:
            letters = list(
                await conn.execute(select(_dead).where(where).order_by(_dead.c.failed_at))
            )
            if not letters:
                return []
            rows = [
                {
                    "instance": r.instance,
                    "event_id": r.event_id,
                    "room_id": r.room_id,
                    "seq": seq + n,
                    "event": r.event,
                    "attempts": 0,
                    "error": f"replayed after: {r.error}",
                    "replayed": 1,
                }
                for n, r in enumerate(letters)
            ]
            await self._upsert(conn, _pending, rows)
            await conn.execute(delete(_dead).where(where))
        return [r.event_id for r in letters]

    async def mark_picked_up(self, rows: Iterable[PendingRow]) -> None:
        """Clear the replay mark of rows a running bot took over."""
        keys = [(self._owned(r.instance), r.event_id) for r in rows]
        if not keys:
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                update(_pending)
                .where(
                    or_(
                        *(and_(_pending.c.instance == i, _pending.c.event_id == e) for i, e in keys)
                    )
                )
                .values(replayed=0)
            )

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
