"""Reading the statistics endpoints' query parameters (the endpoints: test_plugin.py)."""

from __future__ import annotations

import pytest
from mautrix.types import RoomID

from plugins.echo.web import BadQuery, StatsQuery, read_query, read_top

WEEK = 7 * 86400


def test_the_window_defaults_to_the_configured_one() -> None:
    assert read_query({"room_id": "!r:example.org"}, WEEK) == StatsQuery(
        RoomID("!r:example.org"), WEEK, 0
    )
    assert read_query({"room_id": "!r", "max_age": "", "min_age": ""}, WEEK).max_age_s == WEEK


def test_ages_narrow_the_window() -> None:
    query = read_query({"room_id": "!r:example.org", "max_age": "7200", "min_age": "60"}, WEEK)
    assert (query.max_age_s, query.min_age_s) == (7200, 60)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"room_id": "r:example.org"},
        {"room_id": "!"},
        {"room_id": "!a b"},
        {"room_id": "!" + "x" * 255},
        {"room_id": "!r", "max_age": "٣"},  # a digit to Python's int(), not to a URL
        {"room_id": "!r", "max_age": " 5"},
        {"room_id": "!r", "max_age": "1e3"},
        {"room_id": "!r", "max_age": str(3651 * 86400)},
        {"room_id": "!r", "min_age": "10", "max_age": "5"},
    ],
)
def test_malformed_queries_are_refused(query: dict[str, str]) -> None:
    with pytest.raises(BadQuery):
        read_query(query, WEEK)


def test_top_defaults_and_bounds() -> None:
    assert read_top({}, 10) == 10
    assert read_top({"top": "3"}, 10) == 3
    assert read_top({"top": "1000"}, 10) == 1000
    for bad in ("0", "1001", "-1", "ten"):
        with pytest.raises(BadQuery, match="top"):
            read_top({"top": bad}, 10)
