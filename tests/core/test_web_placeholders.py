"""PluginWeb routes with ``{name}`` segments, on a real aiohttp server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient as HTTPClient

from botkit.web import PluginWeb, WebServer

ClientMaker = Callable[[web.Application], Awaitable[HTTPClient[Any, Any]]]


async def served(aiohttp_client: ClientMaker) -> HTTPClient[Any, Any]:
    routes = PluginWeb("demo")

    async def in_room(request: web.Request) -> web.Response:
        return web.Response(text="room " + request.match_info["room_id"])

    async def fixed(request: web.Request) -> web.Response:
        return web.Response(text="fixed")

    routes.add_get("{room_id}/stats", in_room)
    routes.add_get("all/stats", fixed)
    server = WebServer("127.0.0.1", 0, dict, str, lambda name: routes if name == "demo" else None)
    return await aiohttp_client(server.app)


async def test_a_placeholder_matches_one_segment_decoded(aiohttp_client: ClientMaker) -> None:
    client = await served(aiohttp_client)

    answer = await client.get("/_botkit/plugins/demo/%21abc%3Aexample.org/stats")

    assert await answer.text() == "room !abc:example.org"


async def test_an_exact_path_wins_over_a_placeholder(aiohttp_client: ClientMaker) -> None:
    client = await served(aiohttp_client)

    assert await (await client.get("/_botkit/plugins/demo/all/stats")).text() == "fixed"


async def test_what_no_route_matches_is_404_or_405(aiohttp_client: ClientMaker) -> None:
    client = await served(aiohttp_client)

    assert (await client.get("/_botkit/plugins/demo/a/b/stats")).status == 404
    assert (await client.get("/_botkit/plugins/demo//stats")).status == 404
    assert (await client.post("/_botkit/plugins/demo/!r:x/stats")).status == 405
