"""The pong store in pingstat's JSON shapes: ``stats.json`` and ``stats.raw.json``.

Dashboards written for maubot's pingstat read these, so the keys, their order and
the types of the numbers are pingstat's: means are floats, a median is the middle
value of an odd count (an int) or the mean of the two middle ones (a float, ``49.0``
too). botkit's own additions stand under keys pingstat does not use (``botkit``).
"""

from __future__ import annotations

import asyncio
import json
import math
import statistics
from collections.abc import Sequence
from typing import Any, TypeVarTuple

from sqlalchemy import Result, Select, Table, select

from botkit.storage import Storage

from .schema import PongTables
from .stats import PongFilter, rank_key

__all__ = ["RAW_KEYS", "pingstat_json", "raw_json"]

RAW_KEYS = ("room_id", "ping_id", "pong_server", "ping_server", "receive_diff", "pong_timestamp")
"""The keys of one pong in ``stats.raw.json``, in pingstat's order."""

Ts = TypeVarTuple("Ts")

# Rows turned into Python objects at a time.
_SLICE = 5_000


async def pingstat_json(
    storage: Storage, where: PongFilter, *, disclaimer: str, extras: dict[str, Any]
) -> dict[str, Any]:
    """The pongs ``where`` selects, in the shape of pingstat's ``stats.json``.

    ``{"disclaimer", "pings": {pinger server: {"pongs": {responder server: {"diffs":
    {ping id: ms}, "mean", "median", "gmean"}}, "pings": [ping ids], "mean", "median",
    "gmean"}}, "mean", "pongservers", "botkit": extras}``: pinger servers in ranking
    order (:func:`.stats.rank_key`), the top-level ``mean`` the mean of their means
    (``0`` for none). ``gmean`` is the geometric mean, ``null`` if a latency is not
    positive (pingstat, which never counts those, has no answer for them).
    """
    pongs = storage.bind(PongTables).pongs
    async with storage.connect() as conn:
        query = select(
            pongs.c.pinger_server,
            pongs.c.responder_server,
            pongs.c.ping_event_id,
            pongs.c.latency_ms,
            pongs.c.pong_ts,
        )
        result = await conn.execute(_oldest_first(query, pongs, where))
        # Shaping a busy week into the export is seconds of pure Python: a worker
        # thread lets the bot go on answering meanwhile.
        data = await asyncio.to_thread(_shape, result)
    means = [entry["mean"] for entry in data.values()]
    return {
        "disclaimer": disclaimer,
        "pings": data,
        "mean": sum(means) / len(means) if means else 0,
        "pongservers": sorted({server for entry in data.values() for server in entry["pongs"]}),
        "botkit": extras,
    }


def _shape(result: Result[str, str, str, int, int]) -> dict[str, dict[str, Any]]:
    pingers: dict[str, dict[str, Any]] = {}
    first: dict[str, int] = {}
    # In slices: making row objects holds the GIL, and one slice of a million rows
    # would keep the event loop from running for a second.
    for rows in result.partitions(_SLICE):
        for pinger, responder, ping_id, ms, ts in rows:
            entry = pingers.get(pinger)
            if entry is None:
                # Rows come in pong time order: the first one seen is the earliest.
                entry = pingers[pinger] = {"pongs": {}, "pings": {}}
                first[pinger] = ts
            entry["pings"][ping_id] = None
            entry["pongs"].setdefault(responder, {"diffs": {}})["diffs"][ping_id] = ms
    for entry in pingers.values():
        pooled: list[int] = []
        entry["pings"] = list(entry["pings"])
        for pong in entry["pongs"].values():
            diffs = list(pong["diffs"].values())
            pong |= _summary(diffs)
            pooled += diffs
        entry |= _summary(pooled)
    ranked = sorted(pingers, key=lambda s: rank_key(pingers[s]["median"], first[s], s))
    return {server: pingers[server] for server in ranked}


def _summary(diffs: Sequence[int]) -> dict[str, Any]:
    # statistics.median of ints gives the middle int, or a float for an even count:
    # exactly the types pingstat's JSON has.
    return {
        "mean": sum(diffs) / len(diffs),
        "median": statistics.median(diffs),
        "gmean": _geometric_mean(diffs),
    }


def _geometric_mean(diffs: Sequence[int]) -> float | None:
    if any(ms <= 0 for ms in diffs):
        return None
    return math.exp(math.fsum(math.log(ms) for ms in diffs) / len(diffs))


async def raw_json(storage: Storage, where: PongFilter) -> bytes:
    """The pongs ``where`` selects as pingstat's ``stats.raw.json``: a JSON list, oldest first.

    Each pong is an object with the keys of :data:`RAW_KEYS`.
    """
    pongs = storage.bind(PongTables).pongs
    async with storage.connect() as conn:
        query = select(
            pongs.c.room_id,
            pongs.c.ping_event_id,
            pongs.c.responder_server,
            pongs.c.pinger_server,
            pongs.c.latency_ms,
            pongs.c.pong_ts,
        )
        result = await conn.execute(_oldest_first(query, pongs, where))
        return await asyncio.to_thread(_raw_text, result)


def _oldest_first(query: Select[*Ts], pongs: Table, where: PongFilter) -> Select[*Ts]:
    """``query`` on the pongs ``where`` selects, in the order both exports list them."""
    return query.where(where.where(pongs)).order_by(
        pongs.c.pong_ts, pongs.c.ping_event_id, pongs.c.responder_server
    )


def _raw_text(result: Result[str, str, str, str, int, int]) -> bytes:
    parts: list[str] = []
    for rows in result.partitions(_SLICE):
        parts.extend(json.dumps(dict(zip(RAW_KEYS, row, strict=True))) for row in rows)
    return ("[" + ", ".join(parts) + "]").encode()
