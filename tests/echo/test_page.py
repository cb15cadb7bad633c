"""The statistics page: the ranking, the podium, and nothing unescaped."""

from __future__ import annotations

from dataclasses import replace

from plugins.echo.page import PageInfo, describe_window, stats_page
from plugins.echo.stats import RankRow

INFO = PageInfo(
    room_id="!ping:example.org",
    window="the last 7 days",
    min_ms=10,
    max_ms=600_000,
    generated_ms=1_700_000_000_000,
    disclaimer="Pings <are> not verdicts.",
    json_url="/_botkit/plugins/echo/!ping:example.org/stats.json",
    raw_url="/_botkit/plugins/echo/!ping:example.org/stats.raw.json",
    markdown_url="/_botkit/plugins/echo/!ping:example.org/stats.md?max_age=60&min_age=0",
)
PONGS = {
    "imninja.net": {"one.bot": (500.25, 20), "two.bot": (16_096.0, 11)},
    "envs.net": {"one.bot": (437.0, 7)},
}
ROWS = [
    RankRow(
        rank=1, server="imninja.net", median=428.0, mean=500.25, count=31, pongs=31, first_ms=0
    ),
    RankRow(rank=2, server="envs.net", median=437.0, mean=437.0, count=7, pongs=7, first_ms=0),
    RankRow(
        rank=3, server="aria-net.org", median=635.5, mean=700.0, count=120, pongs=120, first_ms=0
    ),
    RankRow(
        rank=4, server="127.0.0.2:8448", median=975.5, mean=990.0, count=4, pongs=4, first_ms=0
    ),
]


def test_the_top_three_stand_out_and_the_rest_follow_in_order() -> None:
    page = stats_page(ROWS, PONGS, INFO)

    assert page.startswith("<!DOCTYPE html>")
    assert '<tr class="place-1"><td>🥇 1</td><td class="server">imninja.net</td>' in page
    assert '<tr class="place-2"><td>🥈 2</td><td class="server">envs.net</td>' in page
    assert '<tr class="place-3"><td>🥉 3</td><td class="server">aria-net.org</td>' in page
    assert '<tr><td>4</td><td class="server">127.0.0.2:8448</td>' in page
    positions = [page.index(row.server) for row in ROWS]
    assert positions == sorted(positions)
    assert "635.5 ms" in page and "975.5 ms" in page and "428 ms" in page
    assert "4 homeservers ranked" in page
    assert "over the last 7 days" in page
    assert "Generated 2023-11-14 22:13:20 UTC" in page


def test_the_page_is_self_contained() -> None:
    page = stats_page(ROWS, PONGS, INFO)

    assert "<style>" in page
    for outside in ("<script", "<link", "<img", "http://", "https://"):
        assert outside not in page
    assert f'<a href="{INFO.json_url}">stats.json</a>' in page
    assert f'<a href="{INFO.raw_url}">stats.raw.json</a>' in page
    assert (
        '<a href="/_botkit/plugins/echo/!ping:example.org/stats.md?max_age=60&amp;min_age=0">'
        in page
    )


def test_each_responding_server_has_its_mean_and_count() -> None:
    # pingstat's "Pong server (mean)" columns, one per responding server, in name order.
    page = stats_page(ROWS, PONGS, INFO)

    assert '<th class="group" colspan="2">Pong server (mean)</th>' in page
    assert "<tr><th>one.bot</th><th>two.bot</th></tr>" in page
    imninja = page[page.index("imninja.net</td>") : page.index("envs.net</td>")]
    assert '<td class="pong">500.2 ms <sup>20</sup></td>' in imninja
    assert '<td class="pong">16.1 seconds <sup>11</sup></td>' in imninja
    envs = page[page.index("envs.net</td>") : page.index("aria-net.org</td>")]
    assert '<td class="pong">437.0 ms <sup>7</sup></td><td class="pong"></td></tr>' in envs


def test_durations_read_as_pongs_write_them() -> None:
    rows = [
        RankRow(
            rank=1, server="slow.org", median=61_000, mean=16_096.0, count=3, pongs=3, first_ms=0
        )
    ]

    page = stats_page(rows, {}, INFO)

    assert "1 minute and 1 second" in page
    assert "16.1 seconds" in page
    assert "Pings &lt;are&gt; not verdicts." in page


def test_everything_shown_is_escaped() -> None:
    hostile = "!<img src=x onerror=alert(1)>&"
    info = replace(INFO, room_id=hostile, window="<b>ever</b>")
    rows = [
        RankRow(rank=1, server="<i>evil</i>", median=1.0, mean=1.0, count=1, pongs=1, first_ms=0)
    ]

    page = stats_page(rows, {}, info)

    assert "<img" not in page and "<i>" not in page and "<b>" not in page
    assert "!&lt;img src=x onerror=alert(1)&gt;&amp;" in page
    assert "&lt;i&gt;evil&lt;/i&gt;" in page


def test_an_empty_ranking_says_so() -> None:
    page = stats_page([], {}, INFO)

    assert "<table>" not in page
    assert "No pongs were seen in this room in this window." in page
    assert "Homeservers ranked by the median time" in page


def test_windows_read_as_a_person_would_say_them() -> None:
    assert describe_window(7 * 86400, 0) == "the last 7 days"
    assert describe_window(86400, 0) == "the last day"
    assert describe_window(7200, 3600) == "from 2 hours ago to 1 hour ago"
    assert describe_window(90, 0) == "the last 90 seconds"
