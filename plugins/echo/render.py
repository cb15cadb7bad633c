"""The ranking as text: the report's markdown table, and ``!pingstats``' plain and HTML forms."""

from __future__ import annotations

import html
from collections.abc import Sequence

from .stats import RankRow

__all__ = ["format_median", "ranking_html", "ranking_markdown", "ranking_text"]

_TEXT_HEADER = ("Rank", "Server", "Median ms", "Pings")


def format_median(ms: float) -> str:
    """A median as the report prints it: ``437`` when whole, ``975.5`` otherwise."""
    return str(int(ms)) if float(ms).is_integer() else str(ms)


def ranking_markdown(rows: Sequence[RankRow], top: int = 10) -> str:
    """The "Dept of Ping" table of the weekly report (PROTOCOL.md §3), first ``top`` rows.

    No trailing newline, so the caller decides the spacing around it.
    """
    lines = ["|Rank|Hostname|Median MS|", "|:---:|:---:|:---:|"]
    lines += [f"|{row.rank}|{row.server}|{format_median(row.median)}|" for row in rows[:top]]
    return "\n".join(lines)


def ranking_text(rows: Sequence[RankRow]) -> str:
    """A plain-text table of ``rows`` (rank, server, median ms, pings), columns aligned.

    Names are left-aligned and numbers right-aligned, as a reader compares them.
    """
    table = [_TEXT_HEADER] + [
        (str(row.rank), row.server, format_median(row.median), str(row.count)) for row in rows
    ]
    widths = [max(len(cells[column]) for cells in table) for column in range(4)]
    lines = []
    for rank, server, median, count in table:
        lines.append(
            f"{rank:>{widths[0]}}  {server:<{widths[1]}}  "
            f"{median:>{widths[2]}}  {count:>{widths[3]}}"
        )
    return "\n".join(lines)


def ranking_html(rows: Sequence[RankRow]) -> str:
    """An HTML ``<table>`` of ``rows`` for the formatted body of ``!pingstats``."""
    head = "".join(f"<th>{title}</th>" for title in _TEXT_HEADER)
    body = "".join(
        f"<tr><td>{row.rank}</td><td>{html.escape(row.server)}</td>"
        f"<td>{format_median(row.median)}</td><td>{row.count}</td></tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
