"""Pong storage and the ranking rules of PROTOCOL.md §2, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
from collections import defaultdict
from dataclasses import replace
from typing import Any

import pytest
from mautrix.types import EventID, RoomID
from sqlalchemy import event

from botkit.storage import Storage, migrate
from botkit.testing.databases import schema_drift, scratch_storage
from plugins.echo.pong import Pong
from plugins.echo.schema import PongTables
from plugins.echo.stats import RankRow, move_room, prune, ranking, record

ROOM = RoomID("!ping:example.org")
NOW = 1_700_000_000_000
DAY = 86_400_000


def pong(
    pinger: str,
    ms: int,
    *,
    ping: str | None = None,
    responder: str = "bots.example",
    ts: int = NOW - 1_000,
    room: str = ROOM,
) -> Pong:
    return Pong(
        room_id=RoomID(room),
        ping_event_id=EventID(ping or f"${pinger}-{ms}-{ts}"),
        pinger_server=pinger,
        responder_server=responder,
        latency_ms=ms,
        timestamp_ms=ts,
    )


async def record_all(storage: Storage, *pongs: Pong) -> None:
    for each in pongs:
        assert await record(storage, each)


def medians(rows: list[RankRow]) -> dict[str, float]:
    return {row.server: row.median for row in rows}


async def test_second_pong_from_the_same_responder_is_ignored(storage: Storage) -> None:
    first = pong("a.org", 100, ping="$p")

    assert await record(storage, first)
    assert not await record(storage, pong("a.org", 900, ping="$p"))
    assert await record(storage, pong("a.org", 300, ping="$p", responder="other.bot"))

    [row] = await ranking(storage, ROOM, now_ms=NOW)
    assert (row.count, row.pongs, row.median) == (1, 2, 200)


async def test_odd_count_median_is_the_middle_value(storage: Storage) -> None:
    await record_all(storage, *(pong("a.org", ms) for ms in (500, 20, 437)))

    [row] = await ranking(storage, ROOM, now_ms=NOW)

    assert row == RankRow(
        rank=1, server="a.org", median=437, mean=319, count=3, pongs=3, first_ms=NOW - 1_000
    )


async def test_even_count_median_is_the_mean_of_the_middle_two(storage: Storage) -> None:
    await record_all(storage, *(pong("half.org", ms) for ms in (2_000, 975, 976, 10)))
    await record_all(storage, *(pong("whole.org", ms) for ms in (975, 977)))

    rows = await ranking(storage, ROOM, now_ms=NOW)

    assert medians(rows) == {"whole.org": 976, "half.org": 975.5}


async def test_measurements_are_credited_to_the_pinger_and_pooled(storage: Storage) -> None:
    # One ping from a.org answered by three bots, on three different servers.
    await record_all(
        storage,
        pong("a.org", 100, ping="$1", responder="one.bot"),
        pong("a.org", 200, ping="$1", responder="two.bot"),
        pong("a.org", 900, ping="$1", responder="a.org"),
        pong("b.org", 50, ping="$2", responder="a.org"),
    )

    rows = await ranking(storage, ROOM, now_ms=NOW)

    # One ping answered by three bots is one ping and three measurements.
    assert [(row.server, row.count, row.pongs, row.median) for row in rows] == [
        ("b.org", 1, 1, 50),
        ("a.org", 1, 3, 200),
    ]


async def test_ranking_is_ascending_with_ties_in_the_order_pongs_came(storage: Storage) -> None:
    # pingstat keeps equal medians in the order its rows come in: the pongs' order.
    await record_all(
        storage,
        pong("slow.org", 800, ts=NOW - 5_000),
        pong("zeta.org", 300, ts=NOW - 4_000),
        pong("alpha.org", 300, ts=NOW - 3_000),
        pong("fast.org", 40, ts=NOW - 2_000),
        pong("beta.org", 300, ts=NOW - 4_000),
    )

    rows = await ranking(storage, ROOM, now_ms=NOW)

    assert [(row.rank, row.server) for row in rows] == [
        (1, "fast.org"),
        (2, "beta.org"),  # as early as zeta.org: then names decide
        (3, "zeta.org"),
        (4, "alpha.org"),
        (5, "slow.org"),
    ]
    top = await ranking(storage, ROOM, now_ms=NOW, limit=2)
    assert [row.server for row in top] == ["fast.org", "beta.org"]


async def test_of_duplicate_pongs_the_earliest_wins_in_any_handling_order(
    storage: Storage,
) -> None:
    # One bot's pongs for one ping, sent at different times (and one forged with a
    # lower latency at the same time as the real one): handled concurrently, in
    # many orders, the stored one is always the earliest sent.
    candidates = [
        pong("a.org", 700, ping="$p", ts=NOW - 3_000),
        pong("a.org", 500, ping="$p", ts=NOW - 4_000),
        pong("a.org", 900, ping="$p", ts=NOW - 4_000),
        pong("a.org", 100, ping="$p", ts=NOW - 2_000),
        pong("a.org", 300, ping="$p", ts=NOW - 1_000),
    ]
    rng = random.Random(13)
    for round_ in range(12):
        room = f"!dup{round_}:example.org"
        order = [replace(c, room_id=RoomID(room)) for c in candidates]
        rng.shuffle(order)
        await asyncio.gather(*(record(storage, each) for each in order))

        [row] = await ranking(storage, RoomID(room), now_ms=NOW)
        assert (row.pongs, row.median, row.first_ms) == (1, 500, NOW - 4_000), order
    # Handled one after the other, a later pong never replaces the earliest.
    late = replace(candidates[1], room_id=RoomID("!dup0:example.org"), timestamp_ms=NOW)
    assert not await record(storage, late)


async def test_latency_bounds_are_inclusive(storage: Storage) -> None:
    await record_all(
        storage,
        *(pong("in.org", ms) for ms in (10, 600_000)),
        *(pong("out.org", ms) for ms in (9, 600_001, -50)),
    )

    rows = await ranking(storage, ROOM, now_ms=NOW)

    assert [(row.server, row.count, row.median) for row in rows] == [("in.org", 2, 300_005)]
    narrowed = await ranking(storage, ROOM, now_ms=NOW, min_ms=0, max_ms=9)
    assert [(row.server, row.count) for row in narrowed] == [("out.org", 1)]


async def test_window_is_the_last_seven_days_by_pong_time(storage: Storage) -> None:
    await record_all(
        storage,
        pong("edge.org", 100, ts=NOW - 7 * DAY),
        pong("edge.org", 300, ts=NOW),
        pong("old.org", 100, ts=NOW - 7 * DAY - 1),
        pong("future.org", 100, ts=NOW + 1),
    )

    rows = await ranking(storage, ROOM, now_ms=NOW)

    assert [(row.server, row.count) for row in rows] == [("edge.org", 2)]
    # The same data a day later: the oldest pong has left the window.
    later = await ranking(storage, ROOM, now_ms=NOW + DAY)
    assert [(row.server, row.count, row.median) for row in later] == [
        ("future.org", 1, 100),
        ("edge.org", 1, 300),
    ]


async def test_window_can_be_narrowed(storage: Storage) -> None:
    await record_all(
        storage,
        pong("a.org", 100, ts=NOW - DAY),
        pong("a.org", 200, ts=NOW - DAY + 1),
        pong("a.org", 300, ts=NOW - 2 * DAY),
        pong("a.org", 400, ts=NOW - 2 * DAY - 1),
    )

    rows = await ranking(storage, ROOM, now_ms=NOW, max_age_s=2 * 86_400, min_age_s=86_400)

    assert [(row.count, row.median) for row in rows] == [(2, 200)]


async def test_other_rooms_do_not_count(storage: Storage) -> None:
    await record_all(storage, pong("a.org", 100), pong("a.org", 5_000, room="!other:example.org"))

    rows = await ranking(storage, ROOM, now_ms=NOW)

    assert [(row.count, row.median) for row in rows] == [(1, 100)]


async def test_many_servers_match_a_plain_median(storage: Storage) -> None:
    # More servers than one SQLite statement reads, with odd and even counts.
    rng = random.Random(7)
    expected: dict[str, list[int]] = defaultdict(list)
    pongs = []
    for i in range(1_200):
        server = f"s{rng.randrange(300)}.example"
        ms = rng.randrange(5, 2_000)
        pongs.append(pong(server, ms, ping=f"$p{i}", ts=NOW - rng.randrange(8 * DAY)))
        if ms >= 10 and pongs[-1].timestamp_ms >= NOW - 7 * DAY:
            expected[server].append(ms)
    await record_all(storage, *pongs)

    rows = await ranking(storage, ROOM, now_ms=NOW)

    assert medians(rows) == {s: statistics.median(v) for s, v in expected.items()}
    assert {row.server: row.count for row in rows} == {s: len(v) for s, v in expected.items()}
    for row in rows:
        assert abs(row.mean - statistics.fmean(expected[row.server])) < 1e-9
    assert [row.median for row in rows] == sorted(row.median for row in rows)
    assert [row.rank for row in rows] == list(range(1, len(rows) + 1))


async def test_empty_room_has_an_empty_ranking(storage: Storage) -> None:
    assert await ranking(storage, ROOM, now_ms=NOW) == []


async def test_prune_deletes_only_older_pongs(storage: Storage) -> None:
    await record_all(
        storage,
        pong("a.org", 100, ts=NOW - 40 * DAY),
        pong("a.org", 200, ts=NOW - 31 * DAY),
        pong("a.org", 300, ts=NOW - 30 * DAY),
    )

    assert await prune(storage, older_than_ms=NOW - 30 * DAY) == 2

    rows = await ranking(storage, ROOM, now_ms=NOW, max_age_s=60 * 86_400)
    assert [(row.count, row.median) for row in rows] == [(1, 300)]
    # A pruned pong can be recorded again (it is no longer a duplicate).
    assert await record(storage, pong("a.org", 100, ts=NOW - 40 * DAY))


async def test_sqlite_ranking_sees_a_pong_committed_while_it_reads(storage: Storage) -> None:
    if storage.dialect != "sqlite":
        pytest.skip("only SQLite reads a ranking in more than one statement")
    await record_all(storage, *(pong("a.org", ms) for ms in (100, 200, 300)))
    path = storage.engine.url.database
    assert path is not None
    written = False

    def another_bot_writes(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Another process records a pong after the counts were read, before the medians.
        nonlocal written
        if "OFFSET" in statement and not written:
            written = True
            with sqlite3.connect(path) as other:
                other.execute(
                    f"INSERT INTO {storage.bind(PongTables).pongs} VALUES (?, ?, ?, ?, ?, ?)",
                    (ROOM, "$late", "bots.example", "a.org", 50, NOW - 1_000),
                )
            other.close()

    event.listen(storage.engine.sync_engine, "before_cursor_execute", another_bot_writes)
    try:
        [row] = await ranking(storage, ROOM, now_ms=NOW)
    finally:
        event.remove(storage.engine.sync_engine, "before_cursor_execute", another_bot_writes)

    assert written
    assert (row.pongs, row.median, row.mean) == (4, 150, 162.5)


async def test_a_store_of_the_first_schema_is_upgraded_with_its_pongs(database_url: str) -> None:
    async with scratch_storage(database_url, "echo_upgrade", PongTables, upto=1) as old:
        await record_all(old, pong("a.org", 100, ping="$1"), pong("a.org", 300, ping="$2"))

        assert await migrate(old, PongTables) == 2
        assert await schema_drift(old, PongTables) == []

        [row] = await ranking(old, ROOM, now_ms=NOW)
        assert (row.count, row.median) == (2, 200)


async def test_an_upgraded_room_is_credited_the_old_rooms_pongs(storage: Storage) -> None:
    new = RoomID("!new:example.org")
    await record_all(
        storage, pong("a.org", 100, ping="$1"), pong("a.org", 300, ping="$2", room=new)
    )
    await record_all(storage, pong("b.org", 50, room="!unrelated:example.org"))

    assert await move_room(storage, ROOM, new) == 1

    [row] = await ranking(storage, new, now_ms=NOW)
    assert (row.server, row.count, row.median) == ("a.org", 2, 200)
    assert await ranking(storage, ROOM, now_ms=NOW) == []


async def test_the_migrations_build_the_tables_the_queries_use(storage: Storage) -> None:
    assert await schema_drift(storage, PongTables) == []
