"""stats.json and stats.raw.json of a fixture room, held against pingstat's rule written out.

``pingstat_rule`` restates what maubot's pingstat documents and does with a room's
pongs: every pong within the window and the latency bounds counts; per pinger
server, its distinct pings, per responding server the latencies by ping with their
mean, median and geometric mean, and the same pooled over responders; servers by
median (equal medians in the order their pongs came), the top ``mean`` the mean of
the servers' means. Medians of an even count are floats, of an odd count the middle
value itself, as Python's ``statistics.median`` (which pingstat uses) types them.
"""

from __future__ import annotations

import json
import math
from typing import Any, NamedTuple

from mautrix.types import EventID, RoomID

from botkit.storage import Storage
from plugins.echo.export import pingstat_json, raw_json
from plugins.echo.pong import Pong
from plugins.echo.stats import PongFilter, record

ROOM = RoomID("!ping:example.org")
NOW = 1_700_000_000_000
DAY = 86_400_000
WEEK_S = 7 * 86_400
DISCLAIMER = "Numbers, not verdicts."


class Row(NamedTuple):
    """A stored pong as pingstat's table has it."""

    ping_server: str
    pong_server: str
    ping_id: str
    receive_diff: int
    pong_timestamp: int
    room_id: str = ROOM


FIXTURE = [
    # whole.org: an even count whose median is whole (49.0), two responders.
    Row("whole.org", "one.bot", "$w1", 48, NOW - 9_000),
    Row("whole.org", "two.bot", "$w1", 50, NOW - 8_900),
    # tie.org: the same median as whole.org, its first pong later: ranked after it.
    Row("tie.org", "one.bot", "$t1", 49, NOW - 8_000),
    Row("tie.org", "one.bot", "$t2", 49, NOW - 7_000),
    # odd.org: three pings, one answered twice; an odd count (the middle one).
    Row("odd.org", "one.bot", "$o1", 900, NOW - 6_000),
    Row("odd.org", "two.bot", "$o1", 700, NOW - 5_900),
    Row("odd.org", "one.bot", "$o2", 1_000, NOW - 5_000),
    # fast.org: one counted pong; the others are out of bounds or of the window.
    Row("fast.org", "two.bot", "$f1", 20, NOW - 4_000),
    Row("fast.org", "two.bot", "$f2", 9, NOW - 3_000),
    Row("fast.org", "two.bot", "$f3", 600_001, NOW - 2_000),
    Row("fast.org", "two.bot", "$f4", 20, NOW - 8 * DAY),
    Row("fast.org", "two.bot", "$f5", 5, NOW - 1_000, room_id="!other:example.org"),
]


def median(values: list[int]) -> int | float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def summary(diffs: list[int]) -> dict[str, Any]:
    return {
        "mean": sum(diffs) / len(diffs),
        "median": median(diffs),
        "gmean": math.prod(diffs) ** (1 / len(diffs)),
    }


def pingstat_rule(rows: list[Row], *, since: int, until: int) -> dict[str, Any]:
    """What pingstat's stats.json says of ``rows`` (10 ms … 10 min, one room)."""
    counted = [
        r
        for r in sorted(rows, key=lambda r: r.pong_timestamp)
        if r.room_id == ROOM
        and since <= r.pong_timestamp <= until
        and 10 <= r.receive_diff <= 600_000
    ]
    servers: dict[str, dict[str, Any]] = {}
    for r in counted:
        entry = servers.setdefault(r.ping_server, {"pongs": {}, "pings": []})
        if r.ping_id not in entry["pings"]:
            entry["pings"].append(r.ping_id)
        entry["pongs"].setdefault(r.pong_server, {"diffs": {}})["diffs"][r.ping_id] = r.receive_diff
    for entry in servers.values():
        for pong in entry["pongs"].values():
            pong.update(summary(list(pong["diffs"].values())))
        entry.update(summary([d for p in entry["pongs"].values() for d in p["diffs"].values()]))
    # A stable sort by median: equal ones stay in the order they were first seen.
    ranked = dict(sorted(servers.items(), key=lambda item: item[1]["median"]))
    means = [entry["mean"] for entry in ranked.values()]
    return {
        "disclaimer": DISCLAIMER,
        "pings": ranked,
        "mean": sum(means) / len(means) if means else 0,
        "pongservers": sorted({r.pong_server for r in counted}),
    }


def typed(value: Any) -> Any:
    """``value`` with every number tagged by its type, and geometric means to 12 digits.

    ``49 == 49.0`` in Python; in the JSON a dashboard reads they differ.
    """
    if isinstance(value, dict):
        return {k: float(f"{v:.12g}") if k == "gmean" else typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    if isinstance(value, int | float):
        return (type(value).__name__, value)
    return value


async def store(storage: Storage, rows: list[Row]) -> None:
    for r in rows:
        await record(
            storage,
            Pong(
                room_id=RoomID(r.room_id),
                ping_event_id=EventID(r.ping_id),
                pinger_server=r.ping_server,
                responder_server=r.pong_server,
                latency_ms=r.receive_diff,
                timestamp_ms=r.pong_timestamp,
            ),
        )


async def test_stats_json_is_what_pingstat_makes_of_the_same_pongs(storage: Storage) -> None:
    await store(storage, FIXTURE)
    where = PongFilter.of(ROOM, NOW, WEEK_S, 0, 10, 600_000)

    data = await pingstat_json(storage, where, disclaimer=DISCLAIMER, extras={"x": 1})
    # Through JSON, as a dashboard reads it.
    data = json.loads(json.dumps(data))

    assert data.pop("botkit") == {"x": 1}
    expected = pingstat_rule(FIXTURE, since=NOW - 7 * DAY, until=NOW)
    assert typed(data) == typed(expected)
    assert list(data) == ["disclaimer", "pings", "mean", "pongservers"]
    assert list(data["pings"]) == ["fast.org", "whole.org", "tie.org", "odd.org"]
    assert data["pings"]["whole.org"]["median"] == 49.0
    assert isinstance(data["pings"]["whole.org"]["median"], float)
    assert isinstance(data["pings"]["odd.org"]["median"], int)


async def test_an_empty_room_exports_as_pingstat_does(storage: Storage) -> None:
    where = PongFilter.of(ROOM, NOW, WEEK_S, 0, 10, 600_000)

    data = await pingstat_json(storage, where, disclaimer=DISCLAIMER, extras={})

    assert data == {
        "disclaimer": DISCLAIMER,
        "pings": {},
        "mean": 0,
        "pongservers": [],
        "botkit": {},
    }


async def test_a_latency_without_a_logarithm_has_no_geometric_mean(storage: Storage) -> None:
    # Only an instance configured to count latencies of 0 ms and below sees this.
    await store(storage, [Row("zero.org", "one.bot", "$z", 0, NOW - 1_000)])
    where = PongFilter.of(ROOM, NOW, WEEK_S, 0, -1_000, 600_000)

    data = await pingstat_json(storage, where, disclaimer="", extras={})

    assert data["pings"]["zero.org"]["gmean"] is None
    assert data["pings"]["zero.org"]["pongs"]["one.bot"]["gmean"] is None


async def test_the_raw_dump_lists_every_counted_pong_oldest_first(storage: Storage) -> None:
    await store(storage, FIXTURE)
    where = PongFilter.of(ROOM, NOW, 30 * 86_400, 0, 10, 600_000)

    dump = json.loads(await raw_json(storage, where))

    expected = [
        {
            "room_id": r.room_id,
            "ping_id": r.ping_id,
            "pong_server": r.pong_server,
            "ping_server": r.ping_server,
            "receive_diff": r.receive_diff,
            "pong_timestamp": r.pong_timestamp,
        }
        for r in sorted(FIXTURE, key=lambda r: r.pong_timestamp)
        if r.room_id == ROOM and 10 <= r.receive_diff <= 600_000
    ]
    assert dump == expected
    assert [list(pong) for pong in dump[:1]] == [
        ["room_id", "ping_id", "pong_server", "ping_server", "receive_diff", "pong_timestamp"]
    ]
