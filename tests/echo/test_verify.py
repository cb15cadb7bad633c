"""Pongs are checked against their pings (issue 10): forged ones do not rank, and are counted."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest
from mautrix.api import HTTPAPI
from mautrix.client import ClientAPI
from mautrix.types import EventID, RoomID, UserID

from botkit.testing.fakehs import FakeHomeserver
from botkit.testing.harness import DEFAULT_ROOM, HarnessFactory, PluginHarness
from plugins.echo.plugin import REFUSED_METRIC, EchoPlugin
from plugins.echo.pong import Pong, Refusal
from plugins.echo.verify import ROOM_BUDGET, PingBook, PingLookupError

pytest_plugins = ["botkit.testing.harness_fixtures"]

ECHO = Path(__file__).parents[2] / "plugins" / "echo"
OTHER_BOT = "@echo:bots.example"
EVENT_PATH = f"/_matrix/client/v3/rooms/{DEFAULT_ROOM}/event/"


async def pong(h: PluginHarness, ping_id: str, *, pinger: str, ms: int = 437) -> None:
    """Another echo bot's pong (or a forger's) for ``ping_id``, crediting ``pinger``'s server."""
    await h.message(
        f"@someone:{pinger}: Pong! (ping took {ms} ms to arrive)",
        sender=OTHER_BOT,
        msgtype="m.notice",
        pong={"ms": ms, "from": pinger, "ping": ping_id},
    )


async def ping(h: PluginHarness, event_id: str, *, sender: str, body: str = "!ping") -> None:
    """A message the plugin sees, with a known event ID."""
    content = {"msgtype": "m.text", "body": body}
    await h.event(
        {"type": "m.room.message", "event_id": event_id, "sender": sender, "content": content}
    )


async def ranked(h: PluginHarness) -> dict[str, int]:
    """The ranking of the harness room: pinger server -> pings counted."""
    plugin = cast(EchoPlugin, h.plugin)
    return {row.server: row.count for row in await plugin.stats.ranking(RoomID(DEFAULT_ROOM))}


def refused(h: PluginHarness) -> dict[str, float]:
    """The refused-pongs metric of the instance, by reason."""
    counter = h.instance.host.metrics.plugin_counters[REFUSED_METRIC]
    return {reason: n for (instance, reason), n in counter.values.items() if instance == "echo"}


def lookups(h: PluginHarness) -> list[str]:
    """The event IDs the plugin asked the homeserver about."""
    return [r.path.removeprefix(EVENT_PATH) for r in h.requests if r.path.startswith(EVENT_PATH)]


async def test_a_pong_for_a_ping_seen_in_the_room_counts(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(ECHO)
    await ping(h, "$real", sender="@alice:alice.example", body=".ping")

    await pong(h, "$real", pinger="alice.example")

    assert await ranked(h) == {"alice.example": 1}
    assert lookups(h) == []
    assert refused(h) == {}


async def test_a_pong_for_a_ping_that_never_was_is_refused(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(ECHO)

    for _ in range(3):
        await pong(h, "$never", pinger="fast.example", ms=11)

    assert await ranked(h) == {}
    assert refused(h) == {"unknown_ping": 3}
    # Asked once; the answer is remembered.
    assert lookups(h) == ["$never"]
    metrics = h.instance.host.metrics.render()
    assert f'{REFUSED_METRIC}{{instance="echo",reason="unknown_ping"}} 3' in metrics


async def test_a_pong_crediting_another_server_than_the_pingers_is_refused(
    plugin_harness: HarnessFactory,
) -> None:
    h = await plugin_harness(ECHO)
    await ping(h, "$real", sender="@alice:alice.example")

    await pong(h, "$real", pinger="fast.example")

    assert "fast.example" not in await ranked(h)
    assert refused(h) == {"wrong_server": 1}


async def test_a_ping_the_bot_did_not_see_is_looked_up_once(
    plugin_harness: HarnessFactory,
) -> None:
    h = await plugin_harness(ECHO)
    event: dict[str, Any] = {
        "type": "m.room.message",
        "room_id": DEFAULT_ROOM,
        "event_id": "$before",
        "sender": "@bob:bob.example:8448",
        "origin_server_ts": 1,
        "content": {"msgtype": "m.text", "body": "!ping"},
    }
    h.api.answer("GET", EVENT_PATH + "$before", event)

    await pong(h, "$before", pinger="bob.example:8448")
    await pong(h, "$before", pinger="evil.example")

    assert await ranked(h) == {"bob.example:8448": 1}
    assert refused(h) == {"wrong_server": 1}
    assert lookups(h) == ["$before"]


async def test_a_flood_of_forged_pongs_is_bounded_and_the_bot_keeps_answering(
    plugin_harness: HarnessFactory,
) -> None:
    h = await plugin_harness(ECHO)

    for i in range(ROOM_BUDGET + 20):
        await pong(h, f"$forged{i}", pinger="fast.example", ms=11)
    answered = await h.command("!ping", sender="@alice:alice.example")

    assert len(lookups(h)) == ROOM_BUDGET
    assert refused(h) == {"unknown_ping": ROOM_BUDGET, "lookup_limit": 20}
    assert await ranked(h) == {}
    assert len(answered) == 1


async def test_unverified_pongs_count_when_configured_as_pingstat(
    plugin_harness: HarnessFactory,
) -> None:
    h = await plugin_harness(ECHO, config={"verify_pongs": False})

    await pong(h, "$never", pinger="fast.example")

    assert await ranked(h) == {"fast.example": 1}
    assert lookups(h) == []


async def test_a_malformed_pong_is_counted_by_reason(plugin_harness: HarnessFactory) -> None:
    h = await plugin_harness(ECHO)
    body = "@someone:a.example: Pong! (ping took 437 ms to arrive)"

    await h.message(body, sender=OTHER_BOT, msgtype="m.notice", pong={"ms": "437"})
    await h.message(body, sender=OTHER_BOT, msgtype="m.notice")

    assert refused(h) == {"bad_ms": 1, "no_data": 1}
    assert h.errors == []


# -- the lookups themselves, against the fake homeserver ---------------------------------


async def test_a_lookup_the_homeserver_cannot_answer_is_an_error_and_asked_again() -> None:
    async with FakeHomeserver() as hs:
        token = hs.create_token("bot")
        room = hs.create_room("alice", members=["bot"])
        ping_id = hs.inject(room, "alice", {"msgtype": "m.text", "body": "!ping"})
        http = HTTPAPI(hs.url, token=token)
        try:
            book = PingBook(ClientAPI(UserID(f"@bot:{hs.server_name}"), api=http))
            genuine = Pong(
                room_id=room,
                ping_event_id=ping_id,
                pinger_server=hs.server_name,
                responder_server="bots.example",
                latency_ms=437,
                timestamp_ms=1,
            )
            forged = replace(genuine, ping_event_id=EventID("$forged"))

            hs.set_down(True)
            with pytest.raises(PingLookupError):
                await book.check(genuine)
            hs.set_down(False)

            # Not remembered as missing: asked again, found, once for many pongs at once.
            assert await asyncio.gather(*(book.check(genuine) for _ in range(5))) == [None] * 5
            lookups = [n for route, n in hs.requests.items() if route.endswith("/event/{event_id}")]
            # (The fake counts what its routes served; the outage's answer was not one.)
            assert lookups == [1]
            assert await book.check(forged) is Refusal.UNKNOWN_PING
            assert await book.check(replace(genuine, pinger_server="evil.example")) is (
                Refusal.WRONG_SERVER
            )
        finally:
            await http.session.close()
