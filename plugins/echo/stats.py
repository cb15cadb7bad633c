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

import asyncio
import statistics
from dataclasses import dataclass
from typing import Any

from mautrix.types import RoomID
from sqlalchemy import Result, text
from sqlalchemy.ext.asyncio import AsyncConnection

from botkit.storage import Migration, Storage

from .pong import Pong

__all__ = [
    "DEFAULT_MAX_AGE_S",
    "DEFAULT_MAX_MS",
    "DEFAULT_MIN_MS",
    "MIGRATIONS",
    "RankRow",
    "pingstat_json",
    "prune",
    "ranking",
    "record",
]

DEFAULT_MAX_AGE_S = 7 * 86400
"""The ranking window: pongs sent in the last 7 days."""
DEFAULT_MIN_MS = 10
"""Latencies below this are not counted (a bot answering itself, clock trouble)."""
DEFAULT_MAX_MS = 600_000
"""Latencies above this (10 minutes) are not counted (a bot catching up on a backlog)."""

# SQLite refuses compound selects of more than 500 terms.
_SQLITE_CHUNK = 250
# Rows turned into Python objects at a time by the export.
_EXPORT_SLICE = 5_000
# How often a SQLite ranking is read again when pongs were committed while it was read.
_SQLITE_ATTEMPTS = 3


async def _create_pongs(conn: AsyncConnection, storage: Storage) -> None:
    pongs = storage.table("pongs")
    await conn.execute(
        text(
            f"CREATE TABLE {pongs} ("
            " room_id VARCHAR(255) NOT NULL,"
            " ping_event_id VARCHAR(255) NOT NULL,"
            " responder_server VARCHAR(255) NOT NULL,"
            " pinger_server VARCHAR(255) NOT NULL,"
            " latency_ms BIGINT NOT NULL,"
            " pong_ts BIGINT NOT NULL,"
            " PRIMARY KEY (room_id, ping_event_id, responder_server))"
        )
    )
    # Covers the ranking: one room's rows grouped by server, in latency order, with
    # the timestamp at hand, so neither engine reads the table or sorts to rank.
    await conn.execute(
        text(
            f"CREATE INDEX {storage.table('pongs_ranking')} ON {pongs}"
            " (room_id, pinger_server, latency_ms, pong_ts)"
        )
    )


MIGRATIONS: list[Migration] = [_create_pongs]
"""The schema of the pong store, one step per version; pass to :func:`botkit.storage.migrate`."""


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
    """How many measurements were pooled."""


@dataclass(frozen=True, slots=True)
class _Filter:
    room_id: str
    since: int
    until: int
    min_ms: int
    max_ms: int

    @classmethod
    def of(
        cls, room_id: str, now_ms: int, max_age_s: int, min_age_s: int, min_ms: int, max_ms: int
    ) -> _Filter:
        return cls(room_id, now_ms - max_age_s * 1000, now_ms - min_age_s * 1000, min_ms, max_ms)

    def params(self) -> dict[str, Any]:
        return {
            "room": self.room_id,
            "since": self.since,
            "until": self.until,
            "min_ms": self.min_ms,
            "max_ms": self.max_ms,
        }

    @staticmethod
    def sql() -> str:
        return (
            "room_id = :room AND pong_ts BETWEEN :since AND :until"
            " AND latency_ms BETWEEN :min_ms AND :max_ms"
        )


async def record(storage: Storage, pong: Pong) -> bool:
    """Store ``pong``; ``False`` if this responder's pong for that ping is already stored."""
    async with storage.begin() as conn:
        result = await conn.execute(
            text(
                f"INSERT INTO {storage.table('pongs')} (room_id, ping_event_id,"
                " responder_server, pinger_server, latency_ms, pong_ts)"
                " VALUES (:room_id, :ping_event_id, :responder_server, :pinger_server,"
                " :latency_ms, :pong_ts)"
                " ON CONFLICT (room_id, ping_event_id, responder_server) DO NOTHING"
            ),
            {
                "room_id": pong.room_id,
                "ping_event_id": pong.ping_event_id,
                "responder_server": pong.responder_server,
                "pinger_server": pong.pinger_server,
                "latency_ms": pong.latency_ms,
                "pong_ts": pong.timestamp_ms,
            },
        )
    return bool(result.rowcount == 1)


async def prune(storage: Storage, *, older_than_ms: int) -> int:
    """Delete the pongs sent before ``older_than_ms`` (epoch ms); return how many."""
    async with storage.begin() as conn:
        result = await conn.execute(
            text(f"DELETE FROM {storage.table('pongs')} WHERE pong_ts < :cutoff"),
            {"cutoff": older_than_ms},
        )
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
    (inclusive). Equal medians are ordered by server name. ``limit`` keeps the top rows.
    """
    where = _Filter.of(room_id, now_ms, max_age_s, min_age_s, min_ms, max_ms)
    async with storage.connect() as conn:
        if storage.dialect == "postgresql":
            stats = await _postgres_stats(conn, storage, where)
        else:
            stats = await _sqlite_stats(conn, storage, where)
    # Ordered here rather than in SQL: PostgreSQL's collation would sort names
    # differently from SQLite's, and there is one row per server.
    stats.sort(key=lambda row: (row[1], row[0]))
    return [
        RankRow(rank=rank, server=server, median=median, mean=mean, count=count)
        for rank, (server, median, mean, count) in enumerate(stats[:limit], start=1)
    ]


_Stats = tuple[str, float, float, int]


async def _postgres_stats(conn: AsyncConnection, storage: Storage, where: _Filter) -> list[_Stats]:
    result = await conn.execute(
        text(
            "SELECT pinger_server, percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms),"
            " CAST(AVG(latency_ms) AS DOUBLE PRECISION), COUNT(*)"
            f" FROM {storage.table('pongs')} WHERE {where.sql()} GROUP BY pinger_server"
        ),
        where.params(),
    )
    return [(s, float(median), float(mean), int(n)) for s, median, mean, n in result]


async def _sqlite_stats(conn: AsyncConnection, storage: Storage, where: _Filter) -> list[_Stats]:
    # The counts and the medians are read by separate statements, and SQLite's driver
    # starts no transaction for reads, so a pong committed in between would shift the
    # middle. data_version changes exactly when another connection commits.
    version = await _sqlite_data_version(conn)
    for _ in range(_SQLITE_ATTEMPTS):
        stats = await _sqlite_read_stats(conn, storage.table("pongs"), where)
        version, before = await _sqlite_data_version(conn), version
        if version == before:
            break
    return stats


async def _sqlite_data_version(conn: AsyncConnection) -> int:
    return int((await conn.exec_driver_sql("PRAGMA data_version")).scalar_one())


async def _sqlite_read_stats(conn: AsyncConnection, pongs: str, where: _Filter) -> list[_Stats]:
    result = await conn.execute(
        text(
            "SELECT pinger_server, AVG(latency_ms), COUNT(*)"
            f" FROM {pongs} WHERE {where.sql()} GROUP BY pinger_server"
        ),
        where.params(),
    )
    servers = [(str(server), float(mean), int(count)) for server, mean, count in result]
    shared = (where.room_id, where.since, where.until, where.min_ms, where.max_ms)
    stats: list[_Stats] = []
    for start in range(0, len(servers), _SQLITE_CHUNK):
        chunk = servers[start : start + _SQLITE_CHUNK]
        params: list[object] = list(shared)
        for server, _, count in chunk:
            # The middle one of an odd count, the middle two of an even one.
            params += [server, 2 - count % 2, (count - 1) // 2]
        # Driver-level SQL with numbered parameters: SQLAlchemy's text() would spend
        # longer parsing a statement of this many parameters than SQLite runs it.
        result = await conn.exec_driver_sql(_sqlite_medians_sql(pongs, len(chunk)), tuple(params))
        for i, median in result:
            server, mean, count = chunk[i]
            # None: the server's pongs were pruned since they were counted.
            if median is not None:
                stats.append((server, float(median), mean, count))
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


async def pingstat_json(
    storage: Storage,
    room_id: RoomID,
    *,
    now_ms: int,
    max_age_s: int = DEFAULT_MAX_AGE_S,
    min_age_s: int = 0,
    min_ms: int = DEFAULT_MIN_MS,
    max_ms: int = DEFAULT_MAX_MS,
) -> dict[str, Any]:
    """The room's measurements in the shape of pingstat's ``stats.json``.

    ``{"pings": {pinger server: {"pings": [ping ids], "pongs": {responder server:
    {"diffs": {ping id: ms}, "mean", "median"}}, "mean", "median"}}, "mean",
    "pongservers"}``: pinger servers in ranking order, the top-level ``mean`` the
    mean of their means. Same window and latency bounds as :func:`ranking`, so the
    figures match it. Whole medians are integers, as in pingstat.
    """
    where = _Filter.of(room_id, now_ms, max_age_s, min_age_s, min_ms, max_ms)
    async with storage.connect() as conn:
        result = await conn.execute(
            text(
                "SELECT pinger_server, responder_server, ping_event_id, latency_ms"
                f" FROM {storage.table('pongs')} WHERE {where.sql()}"
                " ORDER BY pong_ts, ping_event_id, responder_server"
            ),
            where.params(),
        )
        # Shaping a busy week into the export is seconds of pure Python: a worker
        # thread lets the bot go on answering meanwhile.
        return await asyncio.to_thread(_pingstat_shape, result)


def _pingstat_shape(result: Result[str, str, str, int]) -> dict[str, Any]:
    # The export lists every measurement anyway, so its figures are computed from the
    # rows it read, which keeps them consistent with the lists it shows.
    pingers: dict[str, dict[str, Any]] = {}
    responders: set[str] = set()
    # In slices: making row objects holds the GIL, and one slice of a million rows
    # would keep the event loop from running for a second.
    for rows in result.partitions(_EXPORT_SLICE):
        for pinger, responder, ping_id, ms in rows:
            entry = pingers.setdefault(pinger, {"pings": {}, "pongs": {}})
            entry["pings"][ping_id] = None
            entry["pongs"].setdefault(responder, {"diffs": {}})["diffs"][ping_id] = ms
            responders.add(responder)
    for entry in pingers.values():
        pooled: list[int] = []
        entry["pings"] = list(entry["pings"])
        for pong in entry["pongs"].values():
            diffs = list(pong["diffs"].values())
            pong["mean"] = statistics.fmean(diffs)
            pong["median"] = _number(statistics.median(diffs))
            pooled.extend(diffs)
        entry["mean"] = statistics.fmean(pooled)
        entry["median"] = _number(statistics.median(pooled))
    ordered = dict(sorted(pingers.items(), key=lambda item: (item[1]["median"], item[0])))
    means = [entry["mean"] for entry in ordered.values()]
    return {
        "pings": ordered,
        "mean": statistics.fmean(means) if means else 0,
        "pongservers": sorted(responders),
    }


def _number(value: float) -> int | float:
    """``437.0`` as ``437``: how a median reads when it is whole."""
    return int(value) if float(value).is_integer() else float(value)
