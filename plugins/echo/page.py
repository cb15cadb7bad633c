"""The ranking as a web page: self-contained (inline CSS, no scripts), every value escaped.

The columns are pingstat's: rank, pinger server, median, mean, distinct pings, then
one column per responding server with the mean latency of its pongs and (raised)
how many there were; durations in words as pongs write them ("16.1 seconds").
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from .duration import format_duration
from .stats import RankRow

__all__ = ["PageInfo", "describe_window", "stats_page"]

_MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}

# Light and dark palettes through prefers-color-scheme; the podium rows keep their
# tint in both, so the top three stand out at a glance.
_CSS = """
:root { color-scheme: light dark; --fg: #1d1f23; --muted: #5f6670; --bg: #f6f7f9;
  --card: #fff; --line: #e3e6ea; --bar: #0dbd8b; --gold: #fff4cc; --silver: #eef1f5;
  --bronze: #fbe7d9; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e8eaed; --muted: #a0a6ae; --bg: #15191e; --card: #1f242b;
    --line: #323842; --gold: #4a3f14; --silver: #343b45; --bronze: #4a2f1f; }
}
* { box-sizing: border-box; }
body { margin: 0; padding: 2rem 1rem; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 64rem; margin: 0 auto; }
h1 { margin: 0 0 .25rem; font-size: 1.75rem; }
.room { margin: 0 0 1rem; color: var(--muted); overflow-wrap: anywhere; }
.about { margin: 0 0 1.5rem; color: var(--muted); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px;
  overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: .6rem .9rem; text-align: left; border-bottom: 1px solid var(--line); }
tr:last-child td { border-bottom: none; }
th { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
td.num, th.num { text-align: right; }
td.server { font-weight: 600; overflow-wrap: anywhere; }
td.pong { color: var(--muted); white-space: nowrap; }
th.group { text-align: center; }
tr.place-1 { background: var(--gold); }
tr.place-2 { background: var(--silver); }
tr.place-3 { background: var(--bronze); }
tr.place-1 td, tr.place-2 td, tr.place-3 td { font-size: 1.05rem; }
.bar { height: .4rem; margin-top: .3rem; border-radius: .2rem; background: var(--bar);
  min-width: 2px; }
.empty { padding: 2rem; text-align: center; color: var(--muted); }
footer { margin-top: 1.5rem; font-size: .85rem; color: var(--muted); }
a { color: inherit; }
"""


@dataclass(frozen=True, slots=True)
class PageInfo:
    """What the page says around the table."""

    room_id: str
    window: str
    """The time window in words, e.g. ``"the last 7 days"``."""
    min_ms: int
    max_ms: int
    generated_ms: int
    """When the figures were read (epoch ms)."""
    disclaimer: str
    json_url: str
    raw_url: str
    markdown_url: str


Breakdown = Mapping[str, Mapping[str, tuple[float, int]]]
"""Per pinger server, per responding server: (mean latency, pongs)."""


def _span(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    return "1 second" if seconds == 1 else f"{seconds} seconds"


def describe_window(max_age_s: int, min_age_s: int) -> str:
    """The window of pongs counted, in words: ``"the last 7 days"``, or a range of ages."""
    if min_age_s == 0:
        # "the last day", not "the last 1 day".
        return "the last " + _span(max_age_s).removeprefix("1 ")
    return f"from {_span(max_age_s)} ago to {_span(min_age_s)} ago"


def _row(row: RankRow, slowest: float, responders: Sequence[str], pongs: Breakdown) -> str:
    medal = _MEDALS.get(row.rank)
    place = f' class="place-{row.rank}"' if medal else ""
    rank = f"{medal} {row.rank}" if medal else str(row.rank)
    # Bars are relative to the slowest median shown; a zero or negative median has none.
    width = max(0.0, min(100.0, 100 * row.median / slowest)) if slowest > 0 else 0.0
    cells = []
    for responder in responders:
        found = pongs.get(row.server, {}).get(responder)
        if found is None:
            cells.append('<td class="pong"></td>')
        else:
            mean, count = found
            cells.append(f'<td class="pong">{format_duration(mean)} <sup>{count}</sup></td>')
    return (
        f'<tr{place}><td>{rank}</td><td class="server">{html.escape(row.server)}</td>'
        f'<td class="num">{format_duration(_typed_median(row))}'
        f'<div class="bar" style="width: {width:.1f}%"></div></td>'
        f'<td class="num">{format_duration(row.mean)}</td><td class="num">{row.count}</td>'
        + "".join(cells)
        + "</tr>"
    )


def _typed_median(row: RankRow) -> float:
    """The median as pingstat has it: the middle value of an odd count is an int ("437 ms")."""
    return int(row.median) if row.pongs % 2 else row.median


def _table(rows: Sequence[RankRow], pongs: Breakdown) -> str:
    if not rows:
        return (
            '<p class="empty">No pongs were seen in this room in this window. '
            "Say <code>!ping</code> there and come back.</p>"
        )
    slowest = max(row.median for row in rows)
    responders = sorted({name for server in pongs.values() for name in server})
    group = (
        f'<th class="group" colspan="{len(responders)}">Pong server (mean)</th>'
        if responders
        else ""
    )
    head = (
        '<tr><th rowspan="2">Rank</th><th rowspan="2">Server</th>'
        '<th class="num" rowspan="2">Median</th><th class="num" rowspan="2">Mean</th>'
        f'<th class="num" rowspan="2">Pings</th>{group}</tr>'
        "<tr>" + "".join(f"<th>{html.escape(name)}</th>" for name in responders) + "</tr>"
    )
    body = "".join(_row(row, slowest, responders, pongs) for row in rows)
    return f"<table><thead>{head}</thead><tbody>{body}</tbody></table>"


def stats_page(rows: Sequence[RankRow], pongs: Breakdown, info: PageInfo) -> str:
    """A complete HTML document showing ``rows`` and their ``pongs``, the top three highlighted."""
    room = html.escape(info.room_id)
    generated = datetime.fromtimestamp(info.generated_ms / 1000, UTC)
    servers = {0: "Homeservers", 1: "1 homeserver"}.get(len(rows), f"{len(rows)} homeservers")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Ping statistics · {room}</title><style>{_CSS}</style></head>"
        "<body><main>"
        "<h1>🏓 Ping statistics</h1>"
        f'<p class="room">Room <code>{room}</code></p>'
        f'<p class="about">{servers} ranked by the median time their pings took to reach '
        f"the echo bots in this room, over {html.escape(info.window)}. "
        f"Latencies from {info.min_ms:,} ms to {info.max_ms:,} ms count; a ping answered "
        "by several bots is one ping.</p>"
        f'<p class="about">{html.escape(info.disclaimer)}</p>'
        f'<div class="card">{_table(rows, pongs)}</div>'
        f"<footer>Generated {generated:%Y-%m-%d %H:%M:%S} UTC · "
        f'<a href="{html.escape(info.json_url)}">stats.json</a> · '
        f'<a href="{html.escape(info.raw_url)}">stats.raw.json</a> · '
        f'<a href="{html.escape(info.markdown_url)}">stats.md</a></footer>'
        "</main></body></html>\n"
    )
