"""The ranking as the weekly report's markdown table and as !pingstats' text and HTML."""

from __future__ import annotations

from plugins.echo.render import format_median, ranking_html, ranking_markdown, ranking_text
from plugins.echo.stats import RankRow

ROWS = [
    RankRow(
        rank=1, server="imninja.net", median=428.0, mean=500.25, count=31, pongs=31, first_ms=0
    ),
    RankRow(rank=2, server="envs.net", median=437.0, mean=437.0, count=7, pongs=7, first_ms=0),
    RankRow(
        rank=3, server="aria-net.org", median=635.5, mean=700.0, count=120, pongs=120, first_ms=0
    ),
]


def test_markdown_table_matches_the_published_report() -> None:
    assert ranking_markdown(ROWS) == (
        "|Rank|Hostname|Median MS|\n"
        "|:---:|:---:|:---:|\n"
        "|1|imninja.net|428|\n"
        "|2|envs.net|437|\n"
        "|3|aria-net.org|635.5|"
    )


def test_markdown_table_keeps_the_top_rows() -> None:
    rows = [
        RankRow(rank=i, server=f"s{i}.org", median=i, mean=i, count=1, pongs=1, first_ms=0)
        for i in range(1, 13)
    ]

    table = ranking_markdown(rows).splitlines()

    assert len(table) == 2 + 10
    assert table[-1] == "|10|s10.org|10|"
    assert ranking_markdown(rows, top=3).splitlines()[-1] == "|3|s3.org|3|"


def test_median_prints_without_trailing_zero() -> None:
    assert [format_median(m) for m in (437.0, 975.5, 0.0, 600_000.0)] == [
        "437",
        "975.5",
        "0",
        "600000",
    ]


def test_text_table_is_aligned() -> None:
    assert ranking_text(ROWS) == (
        "Rank  Server        Median ms  Pings\n"
        "   1  imninja.net         428     31\n"
        "   2  envs.net            437      7\n"
        "   3  aria-net.org      635.5    120"
    )


def test_html_table_escapes_server_names() -> None:
    rows = [
        RankRow(rank=1, server="a<b>.org", median=975.5, mean=1.0, count=2, pongs=2, first_ms=0)
    ]

    assert ranking_html(rows) == (
        "<table><thead><tr><th>Rank</th><th>Server</th><th>Median ms</th><th>Pings</th></tr>"
        "</thead><tbody><tr><td>1</td><td>a&lt;b&gt;.org</td><td>975.5</td><td>2</td></tr>"
        "</tbody></table>"
    )
