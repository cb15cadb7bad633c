"""The statistics endpoints: their query parameters, and their routes on a real server."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from mautrix.types import EventID, RoomID

from botkit.testing.harness import HarnessFactory
from botkit.testing.http import HarnessHTTP
from plugins.echo.pong import Pong
from plugins.echo.stats import record
from plugins.echo.web import BadQuery, StatsQuery, read_query, read_top

pytest_plugins = ["botkit.testing.harness_fixtures"]

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


def test_a_window_longer_than_the_cap_is_cut_at_its_old_end() -> None:
    query = read_query(
        {"max_age": str(30 * 86400), "min_age": "3600"}, WEEK, room_id="!r:x", max_span_s=WEEK
    )
    assert (query.max_age_s, query.min_age_s) == (3600 + WEEK, 3600)
    uncapped = read_query({"max_age": str(30 * 86400)}, WEEK, room_id="!r:x")
    assert uncapped.max_age_s == 30 * 86400


# -- the routes, on a real aiohttp server in front of a harnessed instance ----------------

ECHO = Path(__file__).parents[2] / "plugins" / "echo"
ROOM = "!ping:example.org"
BASE = "/_botkit/plugins/echo/"
DAY_MS = 86_400_000


async def serve(plugin_harness: HarnessFactory, *ages_days: float) -> HarnessHTTP:
    """An echo instance holding one pong of alice.example per age, served over HTTP."""
    h = await plugin_harness(ECHO)
    now = int(time.time() * 1000)
    for i, age in enumerate(ages_days):
        pong = Pong(
            room_id=RoomID(ROOM),
            ping_event_id=EventID(f"$ping{i}"),
            pinger_server="alice.example",
            responder_server="bots.example",
            latency_ms=100 + i,
            timestamp_ms=now - int(age * DAY_MS),
        )
        assert await record(h.plugin.storage, pong)
    return h.http


async def test_pingstats_path_forms_serve_the_room(plugin_harness: HarnessFactory) -> None:
    client = await serve(plugin_harness, 1)

    json_answer = await client.get(BASE + "!ping:example.org/stats.json")
    page = await client.get(BASE + "%21ping%3Aexample.org/stats")
    raw = await client.get(BASE + "!ping:example.org/stats.raw.json")
    table = await client.get(BASE + "!ping:example.org/stats.md")

    assert json_answer.status == 200
    assert list((await json_answer.json())["pings"]) == ["alice.example"]
    assert (page.status, page.content_type) == (200, "text/html")
    assert "alice.example" in await page.text()
    assert [p["ping_id"] for p in await raw.json()] == ["$ping0"]
    assert "|1|alice.example|100|" in await table.text()


async def test_the_stats_address_answers_json_to_who_accepts_it(
    plugin_harness: HarnessFactory,
) -> None:
    client = await serve(plugin_harness, 1)

    answer = await client.get(
        BASE + "!ping:example.org/stats", headers={"Accept": "application/json"}
    )

    assert (answer.status, answer.content_type) == (200, "application/json")
    assert list((await answer.json())["pings"]) == ["alice.example"]
    assert answer.headers["Vary"] == "Accept"


@pytest.mark.parametrize("form", ["stats", "stats.json", "stats.raw.json", "stats.md"])
async def test_the_query_forms_redirect_to_the_path_forms(
    plugin_harness: HarnessFactory, form: str
) -> None:
    client = await serve(plugin_harness, 1)

    answer = await client.get(
        BASE + form, params={"room_id": ROOM, "max_age": "86400"}, allow_redirects=False
    )
    followed = await client.get(BASE + form, params={"room_id": ROOM, "max_age": "86400"})

    assert answer.status == 302
    assert answer.headers["Location"] == f"./!ping:example.org/{form}?max_age=86400"
    assert followed.status == 200
    assert str(followed.url.path) == f"{BASE}!ping:example.org/{form}"


async def test_a_query_form_without_a_room_is_a_400(plugin_harness: HarnessFactory) -> None:
    client = await serve(plugin_harness)

    answer = await client.get(BASE + "stats.json", allow_redirects=False)

    assert answer.status == 400
    assert "room_id" in (await answer.json())["error"]


async def test_the_statistics_cover_seven_days_at_most_and_the_raw_dump_all(
    plugin_harness: HarnessFactory,
) -> None:
    client = await serve(plugin_harness, 1, 6.9, 7.1, 20)
    month = {"max_age": str(30 * 86400)}

    capped = await (await client.get(BASE + f"{ROOM}/stats.json", params=month)).json()
    raw = await (await client.get(BASE + f"{ROOM}/stats.raw.json", params=month)).json()
    default_raw = await (await client.get(BASE + f"{ROOM}/stats.raw.json")).json()

    assert sorted(capped["pings"]["alice.example"]["pings"]) == ["$ping0", "$ping1"]
    assert capped["botkit"]["max_age"] == 7 * 86400
    assert [p["ping_id"] for p in raw] == ["$ping3", "$ping2", "$ping1", "$ping0"]
    # Without max_age the dump covers the configured window, as pingstat's does.
    assert [p["ping_id"] for p in default_raw] == ["$ping1", "$ping0"]


async def test_a_malformed_parameter_of_a_path_form_is_a_400(
    plugin_harness: HarnessFactory,
) -> None:
    client = await serve(plugin_harness)

    answer = await client.get(BASE + f"{ROOM}/stats", params={"max_age": "a week"})
    bad_room = await client.get(BASE + "general/stats.json")

    assert answer.status == 400
    assert "max_age" in await answer.text()
    assert bad_room.status == 400
