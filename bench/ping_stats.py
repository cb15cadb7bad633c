"""Benchmark: the "Dept of Ping" ranking over a million stored pongs.

Fills a pong store with a busy ping room's worth of measurements (by default
1,000,000 pongs from 2,000 pinging servers over 10 days, each ping answered by one
to three bots) and times :func:`plugins.echo.stats.ranking` for the default 7-day
window, on SQLite and, when a URL is given, on PostgreSQL.

    python -m bench.ping_stats [--pg postgresql+asyncpg://...] [--pongs N]

``BOTKIT_TEST_POSTGRES_URL`` is used when ``--pg`` is not given.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from mautrix.types import EventID, RoomID
from sqlalchemy import insert, text

from botkit.storage import Storage, create_engine, migrate
from plugins.echo.export import pingstat_json
from plugins.echo.pong import Pong
from plugins.echo.schema import PongTables
from plugins.echo.stats import PongFilter, RankRow, ranking, record

__all__ = ["measure", "run"]

ROOM = RoomID("!ping:bench.example")
NOW_MS = 1_700_000_000_000
_DAY_MS = 86_400_000
_RESPONDERS = ["maunium.net", "t2bot.io", "envs.net", "bots.example", "matrix.org"]
_COLUMNS = (
    "room_id",
    "ping_event_id",
    "responder_server",
    "pinger_server",
    "latency_ms",
    "pong_ts",
)
_CHUNK = 50_000

Row = tuple[str, str, str, str, int, int]


def generate(pongs: int, servers: int, days: int, seed: int = 1) -> Iterator[Row]:
    """Pongs as table rows: pingers with their own typical latency, pongs spread over time.

    A few latencies fall outside the counted range, as in a real room.
    """
    rng = random.Random(seed)
    names = [f"hs{i}.example.org" for i in range(servers)]
    typical = [rng.uniform(30, 3_000) for _ in names]
    made = ping = 0
    while made < pongs:
        ping += 1
        pinger = rng.randrange(servers)
        sent = NOW_MS - rng.randrange(days * _DAY_MS)
        answers = min(rng.randint(1, 3), pongs - made)
        for responder in rng.sample(_RESPONDERS, answers):
            latency = int(typical[pinger] * rng.lognormvariate(0, 0.6))
            if rng.random() < 0.01:
                latency = rng.choice([-40, 3, 900_000])
            yield (ROOM, f"$ping{ping}", responder, names[pinger], latency, sent + latency)
        made += answers


async def _fill(storage: Storage, rows: Iterator[Row]) -> None:
    pongs = storage.bind(PongTables).pongs
    chunks = _chunks(rows)
    async with storage.begin() as conn:
        if storage.dialect == "postgresql":
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            for chunk in chunks:
                await driver.copy_records_to_table(pongs.name, records=chunk, columns=_COLUMNS)
            return
        for chunk in chunks:
            await conn.execute(
                insert(pongs), [dict(zip(_COLUMNS, row, strict=True)) for row in chunk]
            )


def _chunks(rows: Iterator[Row]) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _size(storage: Storage, sqlite_path: Path | None) -> int:
    if sqlite_path is not None:
        return sum(p.stat().st_size for p in sqlite_path.parent.glob(sqlite_path.name + "*"))
    async with storage.connect() as conn:
        result = await conn.execute(
            text("SELECT pg_total_relation_size(:t)"), {"t": storage.bind(PongTables).pongs.name}
        )
        return int(result.scalar_one())


async def _vacuum(storage: Storage) -> None:
    # What autovacuum does soon after a bulk load; without it PostgreSQL's planner has
    # no statistics and cannot use index-only scans.
    async with storage.engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await auto.execute(text(f"VACUUM ANALYZE {storage.bind(PongTables).pongs.name}"))


async def _bench_one(
    label: str,
    url: str,
    sqlite_path: Path | None,
    pongs: int,
    servers: int,
    days: int,
    repeats: int,
) -> tuple[list[tuple[str, str]], list[RankRow]]:
    engine = create_engine(url)
    storage = Storage(engine, f"bench_ping_{uuid.uuid4().hex[:8]}")
    figures: list[tuple[str, str]] = []
    try:
        await migrate(storage, PongTables)
        started = time.perf_counter()
        await _fill(storage, generate(pongs, servers, days))
        if storage.dialect == "postgresql":
            await _vacuum(storage)
        figures.append((f"{label}: fill {pongs:,} pongs", f"{time.perf_counter() - started:.1f} s"))
        size = await _size(storage, sqlite_path)
        figures.append((f"{label}: database size", f"{size / 2**20:.0f} MiB"))

        timings = []
        async with _LoopLag() as lag:
            for _ in range(repeats):
                started = time.perf_counter()
                rows = await ranking(storage, ROOM, now_ms=NOW_MS)
                timings.append(time.perf_counter() - started)
        counted = sum(row.pongs for row in rows)
        figures.append(
            (
                f"{label}: ranking, 7 days ({counted:,} pongs, {len(rows):,} servers)",
                f"{statistics.median(timings) * 1000:.0f} ms median of {repeats}"
                f" (first {timings[0] * 1000:.0f} ms), longest event loop stall"
                f" {lag.worst * 1000:.0f} ms",
            )
        )

        started = time.perf_counter()
        for i in range(200):
            await record(storage, _extra_pong(i))
        figures.append(
            (
                f"{label}: record() into the full store",
                f"{(time.perf_counter() - started) * 5:.2f} ms",
            )
        )

        async with _LoopLag() as lag:
            started = time.perf_counter()
            where = PongFilter.of(ROOM, NOW_MS, 7 * 86_400, 0, 10, 600_000)
            await pingstat_json(storage, where, disclaimer="", extras={})
            took = time.perf_counter() - started
        figures.append(
            (
                f"{label}: pingstat_json (every pong listed)",
                f"{took:.1f} s, longest event loop stall {lag.worst * 1000:.0f} ms",
            )
        )
        return figures, rows
    finally:
        async with storage.begin() as conn:
            await conn.run_sync(storage.bind(PongTables).pongs.drop)
            await conn.execute(
                text("DELETE FROM botkit_schema_versions WHERE namespace = :ns"),
                {"ns": storage.namespace},
            )
        await engine.dispose()


class _LoopLag:
    """Measures how long the event loop was kept from running other tasks.

    A bot shares its loop between every plugin, so a stall delays every answer.
    """

    def __init__(self, tick: float = 0.005) -> None:
        self.tick = tick
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.tick)
            self.worst = max(self.worst, time.perf_counter() - before - self.tick)

    async def __aenter__(self) -> _LoopLag:
        self._task = asyncio.create_task(self._watch())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def _extra_pong(i: int) -> Pong:
    return Pong(
        room_id=ROOM,
        ping_event_id=EventID(f"$extra{i}"),
        pinger_server="hs1.example.org",
        responder_server="t2bot.io",
        latency_ms=400 + i,
        timestamp_ms=NOW_MS - 1_000,
    )


async def measure(
    *,
    pongs: int = 1_000_000,
    servers: int = 2_000,
    days: int = 10,
    pg_url: str | None = None,
    repeats: int = 5,
) -> list[tuple[str, str]]:
    """Fill, rank and time on SQLite (and PostgreSQL with ``pg_url``); (what, figure) pairs."""
    with tempfile.TemporaryDirectory(prefix="botkit-bench-") as tmp:
        path = Path(tmp) / "pongs.db"
        figures, sqlite_rows = await _bench_one(
            "sqlite", f"sqlite+aiosqlite:///{path}", path, pongs, servers, days, repeats
        )
    if pg_url:
        pg_figures, pg_rows = await _bench_one(
            "postgresql", pg_url, None, pongs, servers, days, repeats
        )
        figures += pg_figures
        same = [(r.server, r.median, r.count) for r in sqlite_rows] == [
            (r.server, r.median, r.count) for r in pg_rows
        ]
        figures.append(("sqlite and postgresql rankings identical", "yes" if same else "NO"))
    return figures


def run(
    *,
    pongs: int = 1_000_000,
    servers: int = 2_000,
    days: int = 10,
    pg_url: str | None = None,
    repeats: int = 5,
) -> list[tuple[str, str]]:
    """:func:`measure` from synchronous code (it starts its own event loop)."""
    return asyncio.run(
        measure(pongs=pongs, servers=servers, days=days, pg_url=pg_url, repeats=repeats)
    )


def main() -> None:
    """Command line: print the figures as an aligned two-column table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pongs", type=int, default=1_000_000)
    parser.add_argument("--servers", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--pg",
        default=os.environ.get("BOTKIT_TEST_POSTGRES_URL"),
        help="SQLAlchemy URL of a PostgreSQL database (default: $BOTKIT_TEST_POSTGRES_URL)",
    )
    args = parser.parse_args()
    figures = run(
        pongs=args.pongs,
        servers=args.servers,
        days=args.days,
        pg_url=args.pg,
        repeats=args.repeats,
    )
    width = max(len(what) for what, _ in figures)
    for what, figure in figures:
        print(f"{what:<{width}}  {figure}")


if __name__ == "__main__":
    main()
