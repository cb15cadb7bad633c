"""The echo plugin in a real bot against a real Synapse: pongs, echo, statistics, HTTP.

One bot serves the whole module; tests that count pongs do it in a room of their own.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from mautrix.types import Event, EventID, MessageEvent, RoomID, UserID

from botkit import Storage
from botkit.bot import Bot
from botkit.testing.bot import running_bot
from botkit.testing.botconfig import write_bot_config
from botkit.testing.matrix import TestClient
from botkit.testing.synapse import Synapse, unique
from botkit.testing.talk import ask, wait_joined
from plugins.echo.plugin import REFUSED_METRIC
from plugins.echo.pong import Pong
from plugins.echo.service import PING_STATS
from plugins.echo.stats import record
from tests.echo.pinging import (
    Ping,
    content_of,
    other_bots_pong,
    ping,
    send_content,
    table_rows,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

PLUGINS = Path(__file__).parents[2] / "plugins"
# What aggregators match pongs with (PROTOCOL.md §1), copied rather than imported so
# that a change to the plugin's own pattern cannot make these tests agree with it.
REASONS = ("wrong_server", "unknown_ping")
PONG_BODY = re.compile(r'^@.+:.+: Pong! \(ping (".+" )?took .+ to arrive\)$')
OTHER_BOTS_MS = 4321


@dataclass
class Echo:
    """A bot running echo, Alice talking to it, and another echo bot played by the test."""

    bot: Bot
    alice: TestClient
    other: TestClient
    room: RoomID
    """A room with all three, for tests that count nothing."""

    @property
    def bot_id(self) -> UserID:
        """The bot's user ID."""
        return UserID(self.bot.config.homeserver.user_id)

    @property
    def base(self) -> str:
        """The URL of the echo instance's routes."""
        assert self.bot.web is not None
        return f"http://127.0.0.1:{self.bot.web.port}/_botkit/plugins/echo/"

    async def new_room(self) -> RoomID:
        """A room with Alice, the bot and the other echo bot."""
        room = await self.alice.create_room(invite=[self.bot_id, self.other.user_id])
        await self.other.accept_invite(room)
        await wait_joined(self.alice, room, self.bot_id)
        return room


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def echo(synapse: Synapse, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Echo]:
    bot_account = synapse.register(unique("pingbot"))
    alice_account = synapse.register(unique("alice"))
    other_account = synapse.register(unique("otherbot"))
    config = write_bot_config(
        tmp_path_factory.mktemp("echo") / "config.yaml",
        account=bot_account,
        # On one machine a ping can take less than the default 10 ms; count every one.
        plugins={"echo": {"config": {"min_ms": 0}}},
        plugin_dirs=[str(PLUGINS)],
        bot={"admins": [alice_account.user_id]},
    )
    async with (
        TestClient(alice_account) as alice,
        TestClient(other_account) as other,
        running_bot(config) as bot,
    ):
        world = Echo(bot, alice, other, RoomID(""))
        world.room = await world.new_room()
        yield world


@dataclass
class Ranked:
    """A room where Alice pinged three times and the other echo bot answered once more."""

    room: RoomID
    pings: list[Ping]
    other_ping: MessageEvent

    @property
    def diffs(self) -> dict[str, int]:
        """Every counted measurement: ping event ID -> latency."""
        ours: dict[str, int] = {p.ping.event_id: p.ms for p in self.pings}
        return {**ours, self.other_ping.event_id: OTHER_BOTS_MS}

    @property
    def median(self) -> float:
        """The median the ranking must show for Alice's server."""
        return float(statistics.median(self.diffs.values()))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ranked(echo: Echo) -> Ranked:
    room = await echo.new_room()
    pings = [await ping(echo.alice, room, echo.bot_id) for _ in range(3)]
    # Another pingbot with another trigger answers a ping this bot does not.
    other_ping_id = await echo.alice.send_text(room, ".ping")
    other_ping = await echo.alice.wait_for(lambda e: e.event_id == other_ping_id)
    assert isinstance(other_ping, MessageEvent)
    await send_content(echo.other, room, other_bots_pong(other_ping, OTHER_BOTS_MS))
    # The same ping answered again from the same server is not a new measurement.
    await send_content(echo.other, room, other_bots_pong(pings[0].ping, 99_999))
    # The bot handles a room's events in order: once it answers this, it has
    # recorded every pong before it.
    await ask(echo.alice, room, echo.bot_id, "!echo recorded?", "recorded?")
    return Ranked(room, pings, other_ping)


def server_of(user_id: str) -> str:
    return user_id.split(":", 1)[1]


def printed(median: float) -> str:
    """A median as the report prints it: ``437``, ``975.5`` (PROTOCOL.md §3)."""
    return str(int(median)) if median.is_integer() else str(median)


# -- !ping ------------------------------------------------------------------------------


async def test_a_ping_is_answered_with_a_pong_other_bots_understand(echo: Echo) -> None:
    sent, pong = await ping(echo.alice, echo.room, echo.bot_id)

    content = content_of(pong)
    alice, server, ping_id = echo.alice.user_id, server_of(echo.alice.user_id), sent.event_id
    ms = content["pong"]["ms"]
    # Measured when the bot handled the ping: after the ping was stamped, before the pong.
    assert 0 <= ms <= pong.timestamp - sent.timestamp
    assert content["msgtype"] == "m.notice"
    assert content["format"] == "org.matrix.custom.html"
    assert content["body"] == f"{alice}: Pong! (ping took {ms} ms to arrive)"
    assert PONG_BODY.match(content["body"])
    assert content["formatted_body"] == (
        f"<a href='https://matrix.to/#/{alice}'>{alice}</a>: Pong! "
        f"(<a href='https://matrix.to/#/{echo.room}/{ping_id}'>ping</a> took {ms} ms to arrive)"
    )
    assert content["pong"] == {"ms": ms, "from": server, "ping": ping_id}
    assert content["m.relates_to"] == {
        "rel_type": "xyz.maubot.pong",
        "event_id": ping_id,
        "from": server,
        "ms": ms,
    }


async def test_a_ping_with_text_quotes_its_first_twenty_characters(echo: Echo) -> None:
    text = '<b>hi</b> "quoted" and more than twenty characters'
    sent, pong = await ping(echo.alice, echo.room, echo.bot_id, f"!ping {text}")

    content = content_of(pong)
    alice, ms = echo.alice.user_id, content["pong"]["ms"]
    assert content["body"] == f'{alice}: Pong! (ping "<b>hi</b> "quoted" a" took {ms} ms to arrive)'
    assert PONG_BODY.match(content["body"])
    assert content["formatted_body"] == (
        f"<a href='https://matrix.to/#/{alice}'>{alice}</a>: Pong! "
        f"(<a href='https://matrix.to/#/{echo.room}/{sent.event_id}'>ping</a> "
        f'"&lt;b&gt;hi&lt;/b&gt; &quot;quoted&quot; a" took {ms} ms to arrive)'
    )
    assert content["pong"] == {"ms": ms, "from": server_of(alice), "ping": sent.event_id}
    assert content["m.relates_to"]["event_id"] == sent.event_id


async def test_notices_never_trigger_commands(echo: Echo) -> None:
    notice_id = await echo.alice.send_notice(echo.room, "!ping")
    await echo.other.send_notice(echo.room, "!echo from a bot")

    # Handled in order: once the bot answers this, it has handled both notices.
    await ask(echo.alice, echo.room, echo.bot_id, "!echo after the notices", "after the notices")

    def answers_a_notice(event: Event) -> bool:
        if not (isinstance(event, MessageEvent) and event.sender == echo.bot_id):
            return False
        content = content_of(event)
        return content.get("body") == "from a bot" or (
            content.get("pong", {}).get("ping") == notice_id
        )

    assert not [e for e in echo.alice.events if answers_a_notice(e)]


# -- !echo ------------------------------------------------------------------------------


async def test_echo_renders_markdown_and_shows_raw_html_as_text(echo: Echo) -> None:
    text = "**loud** and <script>alert(1)</script>"
    answer = await ask(echo.alice, echo.room, echo.bot_id, f"!echo {text}", "loud")

    content = content_of(answer)
    assert content["msgtype"] == "m.notice"
    assert content["body"] == text
    assert content["formatted_body"] == (
        "<p><strong>loud</strong> and &lt;script&gt;alert(1)&lt;/script&gt;</p>"
    )


async def test_echo_without_text_says_how_to_use_it(echo: Echo) -> None:
    answer = await ask(echo.alice, echo.room, echo.bot_id, "!echo", "Usage")
    assert answer.content.body == "Missing <text>. Usage: !echo <text...>"


# -- !pingstats and the statistics -------------------------------------------------------


async def test_pingstats_ranks_every_echo_bots_pongs(echo: Echo, ranked: Ranked) -> None:
    answer = await ask(echo.alice, ranked.room, echo.bot_id, "!pingstats", "Median")

    body = str(answer.content.body)
    assert body.splitlines()[0] == "Median ping latency by homeserver in the last 7 days:"
    # Three pongs of ours and one of the other bot's; its repeat is not counted.
    assert table_rows(body) == [(1, server_of(echo.alice.user_id), ranked.median, 4)]
    html = content_of(answer)["formatted_body"]
    assert "<table>" in html
    assert f"<td>{server_of(echo.alice.user_id)}</td>" in html
    assert "<td>4</td>" in html


async def test_forged_pongs_do_not_rank_and_are_counted(echo: Echo) -> None:
    room = await echo.new_room()
    real = await ping(echo.alice, room, echo.bot_id)
    counter = echo.bot.metrics.plugin_counters[REFUSED_METRIC]
    before = {reason: counter.values[("echo", reason)] for reason in REASONS}
    # The other bot's account credits Alice's ping to another server, and invents one.
    wrong = other_bots_pong(real.ping, 15)
    wrong["pong"]["from"] = "evil.example"
    invented = other_bots_pong(real.ping, 12)
    invented["pong"] = {"ms": 12, "from": "evil.example", "ping": "$invented"}
    await send_content(echo.other, room, wrong)
    await send_content(echo.other, room, invented)

    deadline = time.monotonic() + 30
    while {r: counter.values[("echo", r)] - before[r] for r in REASONS} != dict.fromkeys(
        REASONS, 1
    ):
        assert time.monotonic() < deadline, dict(counter.values)
        await asyncio.sleep(0.05)
    answer = await ask(echo.alice, room, echo.bot_id, "!pingstats", "Median")
    assert table_rows(str(answer.content.body)) == [(1, server_of(echo.alice.user_id), real.ms, 1)]


async def test_pingstats_in_a_room_without_pongs(echo: Echo) -> None:
    room = await echo.new_room()
    answer = await ask(echo.alice, room, echo.bot_id, "!pingstats 2", "No pongs")
    assert answer.content.body == "No pongs were seen in this room in the last 2 days."


async def test_pingstats_refuses_days_beyond_what_is_kept(echo: Echo) -> None:
    answer = await ask(echo.alice, echo.room, echo.bot_id, "!pingstats 31", "days")
    assert answer.content.body == "days must be from 1 to 30 (pongs are kept for 30 days)"


async def test_other_plugins_get_the_report_table(echo: Echo, ranked: Ranked) -> None:
    service = echo.bot.services.get(PING_STATS)

    table = await service.ranking_markdown(ranked.room, top=10)

    median = printed(ranked.median)
    server = server_of(echo.alice.user_id)
    assert table == f"|Rank|Hostname|Median MS|\n|:---:|:---:|:---:|\n|1|{server}|{median}|"
    assert await service.ranking_markdown("!nothing:here", top=10) == ""


# -- HTTP -------------------------------------------------------------------------------


async def get(url: str, **params: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(url, params=params) as resp:
        return resp.status, resp.content_type, await resp.text()


async def test_stats_json_has_pingstats_shape(echo: Echo, ranked: Ranked) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(echo.base + "stats.json", params={"room_id": ranked.room}) as resp,
    ):
        assert resp.status == 200
        data = await resp.json()

    server = server_of(echo.alice.user_id)
    assert list(data["pings"]) == [server]
    entry = data["pings"][server]
    assert sorted(entry["pings"]) == sorted(ranked.diffs)
    assert entry["pongs"][server]["diffs"] == ranked.diffs
    assert entry["median"] == ranked.median
    assert entry["mean"] == statistics.fmean(ranked.diffs.values())
    assert data["pongservers"] == [server]


async def test_stats_json_window_can_be_narrowed(echo: Echo, ranked: Ranked) -> None:
    # The pongs are seconds old: none was sent between one and two hours ago.
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            echo.base + "stats.json",
            params={"room_id": ranked.room, "max_age": "7200", "min_age": "3600"},
        ) as resp,
    ):
        data = await resp.json()
    assert (data["pings"], data["mean"], data["pongservers"]) == ({}, 0, [])


async def test_stats_md_is_the_report_table(echo: Echo, ranked: Ranked) -> None:
    status, kind, text = await get(echo.base + "stats.md", room_id=ranked.room, top="10")

    assert (status, kind) == (200, "text/markdown")
    server = server_of(echo.alice.user_id)
    median = printed(ranked.median)
    assert text == f"|Rank|Hostname|Median MS|\n|:---:|:---:|:---:|\n|1|{server}|{median}|\n"


async def test_stats_page_shows_the_ranking(echo: Echo, ranked: Ranked) -> None:
    status, kind, page = await get(echo.base + "stats", room_id=ranked.room)

    assert (status, kind) == (200, "text/html")
    server = server_of(echo.alice.user_id)
    assert f'<tr class="place-1"><td>🥇 1</td><td class="server">{server}</td>' in page
    # pingstat's typing: the median of an even count is a float, and reads "138.0 ms".
    assert f"{statistics.median(ranked.diffs.values())} ms" in page
    assert "over the last 7 days" in page


async def test_stats_page_escapes_what_it_is_given(echo: Echo) -> None:
    status, _, page = await get(echo.base + "stats", room_id="!<script>alert(1)</script>")

    assert status == 200
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "No pongs were seen" in page


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("stats.json", {}, "room_id"),
        ("stats.json", {"room_id": "general"}, "room_id"),
        ("stats.json", {"room_id": "!a:b", "max_age": "a week"}, "max_age"),
        ("stats", {"room_id": "!a:b", "min_age": "-1"}, "min_age"),
        ("stats", {"room_id": "!a:b", "max_age": "60", "min_age": "120"}, "min_age"),
        ("stats.md", {"room_id": "!a:b", "top": "0"}, "top"),
        ("stats.md", {"room_id": "!a:b", "top": "99999999999999999999"}, "top"),
    ],
)
async def test_bad_query_parameters_are_a_400_naming_the_parameter(
    echo: Echo, path: str, params: dict[str, str], named: str
) -> None:
    status, _, text = await get(echo.base + path, **params)

    assert status == 400
    assert named in text


# -- retention (last: it restarts the instance) ------------------------------------------


async def test_pongs_older_than_the_retention_are_deleted(echo: Echo) -> None:
    # Pongs cannot be sent with an old timestamp, so these are stored as the plugin
    # would have stored them a month ago.
    room = RoomID(f"!retention{uuid.uuid4().hex[:8]}:localhost")
    storage = Storage(echo.bot.engine, "echo")
    day_ms = 86_400_000
    for server, age_days in (("old.example", 31), ("recent.example", 29)):
        pong = Pong(
            room_id=room,
            ping_event_id=EventID(f"${server}"),
            pinger_server=server,
            responder_server="localhost",
            latency_ms=100,
            timestamp_ms=int(time.time() * 1000) - age_days * day_ms,
        )
        assert await record(storage, pong)
    assert await servers_in(echo, room) == {"old.example", "recent.example"}

    # Pruning runs when the instance starts, then hourly.
    await ask(echo.alice, echo.room, echo.bot_id, "!reload echo", "reloaded")

    deadline = time.monotonic() + 10
    while (servers := await servers_in(echo, room)) != {"recent.example"}:
        assert time.monotonic() < deadline, f"still stored: {servers}"
        await asyncio.sleep(0.05)


async def servers_in(echo: Echo, room: RoomID) -> set[str]:
    """The pinger servers of the pongs stats.raw.json lists for ``room``, 40 days back."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(echo.base + f"{room}/stats.raw.json", params={"max_age": str(40 * 86400)}) as resp,
    ):
        return {pong["ping_server"] for pong in await resp.json()}
