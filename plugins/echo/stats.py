"""Pong storage and the per-homeserver latency ranking ("Dept of Ping", PROTOCOL.md §2).

Every pong seen in a room is one measurement, unique per (room, ping, responding
server). A ranking pools, per *pinger's* server, every measurement whose pong was sent
inside the window and whose latency is within bounds, and orders servers by median.

The medians are computed by the database. PostgreSQL has ``percentile_cont``. SQLite
has no median, and its window functions cost about 1 µs per row (over a second for a
week of a busy room), so there the median is read straight off the ranking index:
rows of one server come in latency order, and the middle one or two are found with
``LIMIT``/``OFFSET`` from the server's count.
"""

from __future__ import annotations

from dataclasses import dataclass
from weakref import WeakKeyDictionary

from mautrix.types import RoomID
from sqlalchemy import (
    ColumnElement,
    Double,
    Executable,
    Table,
    and_,
    cast,
    delete,
    distinct,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from botkit.storage import Storage

from .pong import Pong
from .schema import PongTables

__all__ = [
    "DEFAULT_MAX_AGE_S",
    "DEFAULT_MAX_MS",
    "DEFAULT_MIN_MS",
    "PongFilter",
    "RankRow",
    "move_room",
    "prune",
    "rank_key",
    "ranking",
    "record",
    "responder_means",
]

DEFAULT_MAX_AGE_S = 7 * 86400
"""The ranking window: pongs sent in the last 7 days."""
DEFAULT_MIN_MS = 10
"""Latencies below this are not counted (a bot answering itself, clock trouble)."""
DEFAULT_MAX_MS = 600_000
"""Latencies above this (10 minutes) are not counted (a bot catching up on a backlog)."""

# SQLite refuses compound selects of more than 500 terms.
_SQLITE_CHUNK = 250
# How often a SQLite ranking is read again when pongs were committed while it was read.
_SQLITE_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class RankRow:
    """One homeserver's place in the ranking."""

    rank: int
    """1 for the lowest median."""
    server: str
    """The pinger's server name (with ``:port`` if it has one)."""
    median: float
    """Median latency in ms; the mean of the two middle values for an even count."""
    mean: float
    count: int
    """How many distinct pings were measured (one ping answered by three bots is one)."""
    pongs: int
    """How many measurements (pongs) were pooled."""
    first_ms: int
    """When the server's first counted pong was sent: equal medians keep this order."""


@dataclass(frozen=True, slots=True)
class PongFilter:
    """Which stored pongs count: one room, a window of pong times, latency bounds (inclusive)."""

    room_id: str
    since: int
    until: int
    min_ms: int
    max_ms: int

    @classmethod
    def of(
        cls, room_id: str, now_ms: int, max_age_s: int, min_age_s: int, min_ms: int, max_ms: int
    ) -> PongFilter:
        """The pongs of ``room_id`` sent from ``max_age_s`` to ``min_age_s`` before ``now_ms``."""
        return cls(room_id, now_ms - max_age_s * 1000, now_ms - min_age_s * 1000, min_ms, max_ms)

    def where(self, pongs: Table) -> ColumnElement[bool]:
        """The condition on ``pongs`` (a bound :attr:`PongTables.pongs`)."""
        return and_(
            pongs.c.room_id == self.room_id,
            pongs.c.pong_ts.between(self.since, self.until),
            pongs.c.latency_ms.between(self.min_ms, self.max_ms),
        )


async def record(storage: Storage, pong: Pong) -> bool:
    """Store ``pong``; ``False`` if an earlier pong of this responder for that ping is stored.

    Of two pongs of one responding server for one ping (a bot that answered twice,
    a forger), the one sent first counts, whichever is handled first: pongs are
    handled in parallel, and during a catch-up in no particular order. "First" is
    the pong's own timestamp, then the lower latency, then the pinger's name, so
    that any two candidates have one winner.
    """
    values = {
        "room_id": pong.room_id,
        "ping_event_id": pong.ping_event_id,
        "responder_server": pong.responder_server,
        "pinger_server": pong.pinger_server,
        "latency_ms": pong.latency_ms,
        "pong_ts": pong.timestamp_ms,
    }
    async with storage.begin() as conn:
        result = await conn.execute(_record_statement(storage), values)
    return bool(result.rowcount == 1)


# Made once per instance: building the statement for each pong took as long as
# SQLite takes to store it.
_RECORD: WeakKeyDictionary[Table, Executable] = WeakKeyDictionary()


def _record_statement(storage: Storage) -> Executable:
    pongs = storage.bind(PongTables).pongs
    statement = _RECORD.get(pongs)
    if statement is None:
        insert = storage.insert(pongs)
        new, order = insert.excluded, ("pong_ts", "latency_ms", "pinger_server")
        statement = _RECORD[pongs] = insert.on_conflict_do_update(
            index_elements=list(pongs.primary_key),
            set_={c: new[c] for c in order},
            where=tuple_(*(new[c] for c in order)) < tuple_(*(pongs.c[c] for c in order)),
        )
    return statement


async def move_room(storage: Storage, old: RoomID, new: RoomID) -> int:
    """Credit ``old``'s pongs to ``new`` (a room upgrade); return how many moved.

    What pingstat does on ``m.room.tombstone``, so that the upgraded room's ranking
    includes the old room's pongs. Ping event IDs are unique, so nothing collides.
    Not called yet: following upgrades is the core's part (see the README).
    """
    pongs = storage.bind(PongTables).pongs
    async with storage.begin() as conn:
        result = await conn.execute(update(pongs).where(pongs.c.room_id == old).values(room_id=new))
    return int(result.rowcount)


async def prune(storage: Storage, *, older_than_ms: int) -> int:
    """Delete the pongs sent before ``older_than_ms`` (epoch ms); return how many."""
    pongs = storage.bind(PongTables).pongs
    async with storage.begin() as conn:
        result = await conn.execute(delete(pongs).where(pongs.c.pong_ts < older_than_ms))
    return int(result.rowcount)


async def ranking(
    storage: Storage,
    room_id: RoomID,
    *,
    now_ms: int,
    max_age_s: int = DEFAULT_MAX_AGE_S,
    min_age_s: int = 0,
    min_ms: int = DEFAULT_MIN_MS,
    max_ms: int = DEFAULT_MAX_MS,
    limit: int | None = None,
) -> list[RankRow]:
    """Rank the pingers' servers in ``room_id`` by median latency, lowest first.

    Counts the pongs sent between ``max_age_s`` and ``min_age_s`` seconds before
    ``now_ms`` (both edges included) whose latency is within ``min_ms``..``max_ms``
    (inclusive). Equal medians keep the order in which the servers' first pongs were
    sent, as pingstat keeps the order its rows come in (then server names decide).
    ``limit`` keeps the top rows.
    """
    where = PongFilter.of(room_id, now_ms, max_age_s, min_age_s, min_ms, max_ms)
    pongs = storage.bind(PongTables).pongs
    async with storage.connect() as conn:
        if storage.dialect == "postgresql":
            stats = await _postgres_stats(conn, pongs, where)
        else:
            stats = await _sqlite_stats(conn, pongs, where)
    # Ordered here rather than in SQL: PostgreSQL's collation would sort names
    # differently from SQLite's, and there is one row per server.
    stats.sort(key=lambda row: rank_key(row.median, row.first_ms, row.server))
    return [
        RankRow(
            rank=rank,
            server=row.server,
            median=row.median,
            mean=row.mean,
            count=row.count,
            pongs=row.pongs,
            first_ms=row.first_ms,
        )
        for rank, row in enumerate(stats[:limit], start=1)
    ]


def rank_key(median: float, first_ms: int, server: str) -> tuple[float, int, str]:
    """How servers are ranked: by median, then by when their first pong was sent, then by name."""
    return (median, first_ms, server)


@dataclass(frozen=True, slots=True)
class _Stats:
    server: str
    median: float
    mean: float
    count: int
    pongs: int
    first_ms: int


async def _postgres_stats(conn: AsyncConnection, pongs: Table, where: PongFilter) -> list[_Stats]:
    latency = pongs.c.latency_ms
    result = await conn.execute(
        select(
            pongs.c.pinger_server,
            func.percentile_cont(0.5).within_group(latency),
            cast(func.avg(latency), Double),
            # Byte order: distinct is all it needs, and the locale's order costs 1.5x.
            func.count(distinct(pongs.c.ping_event_id.collate("C"))),
            func.count(),
            func.min(pongs.c.pong_ts),
        )
        .where(where.where(pongs))
        .group_by(pongs.c.pinger_server)
    )
    return [
        _Stats(str(s), float(median), float(mean), int(pings), int(n), int(first))
        for s, median, mean, pings, n, first in result
    ]


async def _sqlite_stats(conn: AsyncConnection, pongs: Table, where: PongFilter) -> list[_Stats]:
    # The counts and the medians are read by separate statements, and SQLite's driver
    # starts no transaction for reads, so a pong committed in between would shift the
    # middle. data_version changes exactly when another connection commits.
    version = await _sqlite_data_version(conn)
    for _ in range(_SQLITE_ATTEMPTS):
        stats = await _sqlite_read_stats(conn, pongs, where)
        version, before = await _sqlite_data_version(conn), version
        if version == before:
            break
    return stats


async def _sqlite_data_version(conn: AsyncConnection) -> int:
    return int((await conn.exec_driver_sql("PRAGMA data_version")).scalar_one())


async def _sqlite_read_stats(
    conn: AsyncConnection, pongs: Table, where: PongFilter
) -> list[_Stats]:
    latency = pongs.c.latency_ms
    result = await conn.execute(
        select(
            pongs.c.pinger_server,
            func.avg(latency),
            func.count(),
            func.count(distinct(pongs.c.ping_event_id)),
            func.min(pongs.c.pong_ts),
        )
        .where(where.where(pongs))
        .group_by(pongs.c.pinger_server)
    )
    servers = [
        (str(server), float(mean), int(n), int(pings), int(first))
        for server, mean, n, pings, first in result
    ]
    shared = (where.room_id, where.since, where.until, where.min_ms, where.max_ms)
    stats: list[_Stats] = []
    for start in range(0, len(servers), _SQLITE_CHUNK):
        chunk = servers[start : start + _SQLITE_CHUNK]
        params: list[object] = list(shared)
        for server, _, count, _, _ in chunk:
            # The middle one of an odd count, the middle two of an even one.
            params += [server, 2 - count % 2, (count - 1) // 2]
        # Driver-level SQL with numbered parameters: SQLAlchemy would spend longer
        # compiling a statement of this many parameters than SQLite runs it.
        result = await conn.exec_driver_sql(
            _sqlite_medians_sql(pongs.name, len(chunk)), tuple(params)
        )
        for i, median in result:
            server, mean, count, pings, first = chunk[i]
            # None: the server's pongs were pruned since they were counted.
            if median is not None:
                stats.append(_Stats(server, float(median), mean, pings, count, first))
    return stats


def _sqlite_medians_sql(pongs: str, servers: int) -> str:
    """One statement for ``servers`` medians, each read off the ranking index in order.

    Parameters: ?1 room, ?2..?3 the time window, ?4..?5 the latency bounds, then per
    server its name, how many middle values (1 or 2) and how many rows precede them.
    """
    terms = []
    for i in range(servers):
        name, take, skip = 6 + 3 * i, 7 + 3 * i, 8 + 3 * i
        terms.append(
            f"SELECT {i}, AVG(latency_ms) FROM (SELECT latency_ms FROM {pongs}"
            f" WHERE room_id = ?1 AND pinger_server = ?{name}"
            " AND pong_ts BETWEEN ?2 AND ?3 AND latency_ms BETWEEN ?4 AND ?5"
            f" ORDER BY latency_ms LIMIT ?{take} OFFSET ?{skip})"
        )
    return " UNION ALL ".join(terms)


async def responder_means(
    storage: Storage, where: PongFilter
) -> dict[str, dict[str, tuple[float, int]]]:
    """Per pinger server, per responding server: the mean latency and how many pongs.

    The breakdown of pingstat's page ("Pong server (mean)"), from the same pongs as
    :func:`ranking` for the same filter.
    """
    pongs = storage.bind(PongTables).pongs
    async with storage.connect() as conn:
        result = await conn.execute(
            select(
                pongs.c.pinger_server,
                pongs.c.responder_server,
                func.avg(pongs.c.latency_ms),
                func.count(),
            )
            .where(where.where(pongs))
            .group_by(pongs.c.pinger_server, pongs.c.responder_server)
        )
        means: dict[str, dict[str, tuple[float, int]]] = {}
        for pinger, responder, mean, count in result:
            means.setdefault(str(pinger), {})[str(responder)] = (float(mean), int(count))
    return means
