"""Pings from three federating homeservers: one ranking row per pinger's server.

Medians pool every echo bot's pongs: the bot's own and those of another echo bot on
the second server, which answers one of the pings too.
"""

from __future__ import annotations

import asyncio
import statistics
import uuid
from pathlib import Path

import aiohttp
from mautrix.types import RoomID, UserID

from botkit.testing.bot import running_bot
from botkit.testing.botconfig import write_bot_config
from botkit.testing.factories import ClientFactory
from botkit.testing.federation import Federation
from botkit.testing.matrix import TestClient
from botkit.testing.talk import ask, wait_joined
from tests.echo.pinging import other_bots_pong, ping, send_content, table_rows

PLUGINS = Path(__file__).parents[2] / "plugins"
# Federation adds hops (invites, joins, key fetches) that a single server does not have.
SLOW = 60.0
PINGS_PER_USER = 3
OTHER_BOTS_MS = 777


async def pings_from(client: TestClient, room: RoomID, bot: UserID) -> list[int]:
    """``client`` pings the bot a few times; the latencies the bot's pongs report."""
    return [(await ping(client, room, bot, timeout=SLOW)).ms for _ in range(PINGS_PER_USER)]


async def test_each_pinger_server_is_ranked_by_the_median_of_its_pings(
    federation: Federation, matrix_client_factory: ClientFactory, tmp_path: Path
) -> None:
    one, two, three = federation
    tag = uuid.uuid4().hex[:8]
    bot_account = one.register(f"pingbot{tag}")
    config = write_bot_config(
        tmp_path / "config.yaml",
        account=bot_account,
        # Pings from the bot's own server can take less than the default 10 ms.
        plugins={"echo": {"config": {"min_ms": 0}}},
        plugin_dirs=[str(PLUGINS)],
    )
    alice = matrix_client_factory(one.register(f"alice{tag}"))
    bob = matrix_client_factory(two.register(f"bob{tag}"))
    carol = matrix_client_factory(three.register(f"carol{tag}"))
    # Another echo bot, on the second server, played by the test.
    other = matrix_client_factory(two.register(f"otherbot{tag}"))
    bot = UserID(bot_account.user_id)

    async with running_bot(config) as running:
        room = await alice.create_room(invite=[bot, bob.user_id, carol.user_id, other.user_id])
        for client in (bob, carol, other):
            await client.accept_invite(room, SLOW)
        await wait_joined(alice, room, bot, SLOW)
        for client in (bob, carol):
            await wait_joined(client, room, bot, SLOW)
        measured = await asyncio.gather(*(pings_from(c, room, bot) for c in (alice, bob, carol)))
        # The other bot answers one of Bob's pings too: a second measurement of it.
        bobs_ping = await bob.wait_for_message(room, sender=bob.user_id, contains="!ping")
        await send_content(other, room, other_bots_pong(bobs_ping, OTHER_BOTS_MS))
        await alice.wait_for_message(room, sender=other.user_id, timeout=SLOW)
        measured[1].append(OTHER_BOTS_MS)
        # Asked on the bot's server after every pong was sent there, so the bot,
        # which handles a room's events in order, has recorded them all by then.
        answer = await ask(alice, room, bot, "!pingstats", "Median", SLOW)
        assert running.web is not None
        url = f"http://127.0.0.1:{running.web.port}/_botkit/plugins/echo/stats.json"
        async with aiohttp.ClientSession() as http, http.get(url, params={"room_id": room}) as r:
            export = await r.json()

    expected = {
        server.server_name: statistics.median(ms)
        for server, ms in zip(federation, measured, strict=True)
    }
    rows = table_rows(str(answer.content.body))
    assert {row.server: row.median for row in rows} == expected
    pings = {row.server: row.pings for row in rows}
    # Distinct pings: Bob's ping answered by two bots is still one ping (issue 13).
    assert pings == {one.server_name: 3, two.server_name: 3, three.server_name: 3}
    assert [row.rank for row in rows] == [1, 2, 3]
    assert [row.median for row in rows] == sorted(expected.values())
    assert {server: entry["median"] for server, entry in export["pings"].items()} == expected
    assert export["pongservers"] == sorted([one.server_name, two.server_name])
    assert export["pings"][two.server_name]["pongs"][two.server_name]["diffs"] == {
        bobs_ping.event_id: OTHER_BOTS_MS
    }
