"""Medians of repeated runs, the figures table, and botkit's targets checked against them."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAUBOT_100_OVER_RAW",
    "Summary",
    "figure_rows",
    "format_table",
    "summarize",
    "target_rows",
]

MAUBOT_100_OVER_RAW = 3737 / 2438
"""maubot 0.6 over the bare client at 100 events per sync, max rate: 3737 and 2438 events/s
in ../shared/bench's reference run on this machine. Events/s themselves depend on the fake
homeserver, which shares the two cores with the bot, so the target is this ratio; for
botkit beside maubot itself, run ``bench/fakehs_botkit.sh`` with ../shared/bench."""
MAX_PENDING = 200
"""botkit's default ``sync.max_pending``."""


def _get(result: dict[str, Any], path: str) -> float | None:
    value: Any = result
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return float(value) if isinstance(value, int | float) else None


_FIELDS = {
    "events_per_s": "events_per_s",
    "cpu_ms": "bot.cpu_ms_per_event",
    "rss": "bot.rss_mb",
    "peak_rss": "bot.peak_rss_mb",
    "p50": "latency_ms.p50",
    "p99": "latency_ms.p99",
    "backlog": "max_backlog",
    "held": "max_held",
    "ready": "ready_s",
    "busy": "system_busy_pct",
}


@dataclass
class Summary:
    """The medians of one bot under one scenario, over its runs."""

    bot: str
    scenario: str
    runs: int
    answered: int
    offered: int
    duplicates: int
    medians: dict[str, float | None]
    ranges: dict[str, tuple[float, float] | None]


def summarize(bot: str, scenario: str, results: Sequence[dict[str, Any]]) -> Summary:
    """Medians (and ranges) of every figure over ``results``."""
    medians: dict[str, float | None] = {}
    ranges: dict[str, tuple[float, float] | None] = {}
    for name, path in _FIELDS.items():
        values = [v for r in results if (v := _get(r, path)) is not None]
        medians[name] = statistics.median(values) if values else None
        ranges[name] = (min(values), max(values)) if values else None
    return Summary(
        bot=bot,
        scenario=scenario,
        runs=len(results),
        answered=sum(int(r.get("answered", 0)) for r in results),
        offered=sum(int(r.get("N", 0)) for r in results),
        duplicates=sum(int(r.get("duplicates", 0)) for r in results),
        medians=medians,
        ranges=ranges,
    )


def _fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def figure_rows(summaries: Sequence[Summary]) -> tuple[list[str], list[list[str]]]:
    """The main table: one row per (scenario, bot)."""
    headers = ["scenario", "bot", "runs", "answered", "dup", "events/s", "CPU ms/ev"]
    headers += ["(range)", "RSS MB", "peak MB", "p50 ms", "p99 ms", "backlog", "ready s", "busy%"]
    rows = []
    for s in summaries:
        m, cpu_range = s.medians, s.ranges["cpu_ms"]
        rows.append(
            [
                s.scenario,
                s.bot,
                str(s.runs),
                f"{s.answered}/{s.offered}",
                str(s.duplicates),
                _fmt(m["events_per_s"]),
                _fmt(m["cpu_ms"], 3),
                f"{cpu_range[0]:.3f}-{cpu_range[1]:.3f}" if cpu_range else "-",
                _fmt(m["rss"], 1),
                _fmt(m["peak_rss"], 1),
                _fmt(m["p50"], 1),
                _fmt(m["p99"], 1),
                _fmt(m["backlog"]),
                _fmt(m["ready"], 2),
                _fmt(m["busy"]),
            ]
        )
    return headers, rows


_Check = Callable[[float, dict[str, float | None]], tuple[bool, str]]
"""A target's test: botkit's median and raw's medians -> (met, how it reads)."""


@dataclass(frozen=True)
class _Target:
    what: str
    scenario: str
    field: str
    check: _Check


def _ratio(limit: float) -> _Check:
    def check(value: float, raw: dict[str, float | None]) -> tuple[bool, str]:
        base = raw.get("cpu_ms")
        if not base:
            return False, "no raw figure"
        return value <= limit * base, f"{value / base:.2f} × raw (≤ {limit:g})"

    return check


def _at_most(limit: float, unit: str) -> _Check:
    return lambda value, raw: (value <= limit, f"{value:g} {unit} (≤ {limit:g})")


def _rate_over_raw(ratio: float) -> _Check:
    def check(value: float, raw: dict[str, float | None]) -> tuple[bool, str]:
        base = raw.get("events_per_s")
        if not base:
            return False, "no raw figure"
        return value >= ratio * base, f"{value:.0f} ev/s, {value / base:.2f} × raw (≥ {ratio:.2f})"

    return check


def _rss_over_raw(margin: float) -> _Check:
    def check(value: float, raw: dict[str, float | None]) -> tuple[bool, str]:
        base = raw.get("rss")
        if base is None:
            return False, "no raw figure"
        return value <= base + margin, f"raw + {value - base:.1f} MB (≤ +{margin:g})"

    return check


_TARGETS = [
    _Target("CPU per event, 1 per sync", "B=1 max", "cpu_ms", _ratio(1.1)),
    _Target("CPU per event, 500 ev/s", "B=1 500/s", "cpu_ms", _ratio(1.1)),
    _Target("RSS at 500 ev/s", "B=1 500/s", "rss", _rss_over_raw(8)),
    _Target(
        "events/s, 100 per sync, as maubot",
        "B=100 max",
        "events_per_s",
        _rate_over_raw(MAUBOT_100_OVER_RAW),
    ),
    _Target("unfinished, 100 per sync", "B=100 max", "held", _at_most(MAX_PENDING, "events")),
    _Target("latency p99, 100 per sync", "B=100 max", "p99", _at_most(200, "ms")),
    _Target("peak RSS, 100 per sync", "B=100 max", "peak_rss", _at_most(55, "MB")),
    _Target("ready (first sync done)", "B=1 max", "ready", _at_most(0.8, "s")),
]


def target_rows(summaries: Sequence[Summary]) -> tuple[list[str], list[list[str]]]:
    """botkit's targets, each checked against the medians (skipped without the scenario)."""
    by_key = {(s.bot, s.scenario): s for s in summaries}
    rows = []
    for t in _TARGETS:
        mine = by_key.get(("botkit", t.scenario))
        raw = by_key.get(("raw", t.scenario))
        value = mine.medians.get(t.field) if mine else None
        if value is None:
            continue
        ok, text = t.check(value, raw.medians if raw else {})
        rows.append([t.what, t.scenario, text, "ok" if ok else "MISSED"])
    return ["target", "scenario", "botkit", ""], rows


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned with spaces, numbers to the right."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(cells):
            numeric = cell[:1].isdigit() or cell == "-"
            out.append(cell.rjust(widths[i]) if numeric and i else cell.ljust(widths[i]))
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])
