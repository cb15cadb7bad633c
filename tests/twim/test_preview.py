"""The draft on the web: draft.md, the HTML page and its images, on a real aiohttp server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date
from typing import Any

from aiohttp.test_utils import TestClient as HTTPClient
from aiohttp.web import Application
from mautrix.types import ContentURI, EventID, RoomID

from botkit.web import PluginWeb, WebServer
from plugins.twim.collect import Issue
from plugins.twim.draft import Draft
from plugins.twim.preview import PreviewSite, page_html
from plugins.twim.render import ping_table
from tests.twim.builders import entry, image, post

ClientMaker = Callable[[Application], Awaitable[HTTPClient[Any, Any]]]
MEDIA = {"mxc://example.org/shot1": b"\x89PNG fake"}


def draft(day: date = date(2021, 1, 29)) -> Draft:
    week = post(
        [
            entry(
                "# Conduit 0.7\n\nNow with *sliding sync*. <script>alert(1)</script>",
                event_id="$shot1",
                attachments=[image("$shot1", "shot.png")],
            ),
            entry("[click](javascript:alert(1))", event_id="$js", section="clients"),
        ],
        live_video="dQw4w9WgXcQ",
        ping_table=ping_table([("envs.net", 437), ("black|line.xyz", 975.5)]),
        ping_room_alias="#ping:maunium.net",
    )
    issue = Issue("short", EventID("$x"), RoomID("!r:x"), "Bob <b>", "hi", "only 2 characters")
    return Draft(post=replace(week, date=day), issues=[issue], previous=None)


def test_the_page_shows_sections_images_and_the_ping_table_safely() -> None:
    page = page_html(draft(), "/_botkit/plugins/twim/media")

    assert "<title>Draft: This Week in Matrix 2021-01-29</title>" in page
    assert "<h2>Dept of Servers 🏢</h2>" in page
    assert "<h3>Conduit 0.7</h3>" in page
    assert (
        '<img src="/_botkit/plugins/twim/media?event=%24shot1" alt="2021-01-29-shot1-shot.png"'
        in (page)
    )
    assert '<td style="text-align:center">envs.net</td>' in page
    assert '<td style="text-align:center">black|line.xyz</td>' in page
    assert '<td style="text-align:center">975.5</td>' in page
    assert 'href="https://www.youtube.com/watch?v=dQw4w9WgXcQ"' in page
    assert "<script" not in page
    assert 'href="javascript:' not in page
    assert "Bob &lt;b&gt;" in page
    assert "Very short reports" in page


async def test_the_routes_serve_the_draft_and_only_its_images(aiohttp_client: ClientMaker) -> None:
    asked: list[date] = []

    async def drafts(day: date) -> Draft:
        asked.append(day)
        return draft(day)

    async def download(url: ContentURI) -> bytes:
        return MEDIA[url]

    web = PluginWeb("twim")
    PreviewSite(web, drafts, lambda: date(2021, 1, 29), download).register()
    server = WebServer("127.0.0.1", 0, dict, str, lambda name: web if name == "twim" else None)
    client = await aiohttp_client(server.app)

    markdown = await client.get("/_botkit/plugins/twim/draft.md?date=2021-02-05")
    assert markdown.status == 200
    assert markdown.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert (await markdown.text()).startswith('+++\ntitle = "This Week in Matrix 2021-02-05"')
    assert asked == [date(2021, 2, 5)]

    assert (await client.get("/_botkit/plugins/twim/draft.md?date=friday")).status == 400

    page = await client.get("/_botkit/plugins/twim/")
    assert page.status == 200
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert "Dept of Servers" in await page.text()

    shot = await client.get("/_botkit/plugins/twim/media", params={"event": "$shot1"})
    assert shot.status == 200
    assert shot.headers["Content-Type"] == "image/png"
    assert await shot.read() == b"\x89PNG fake"
    other = await client.get("/_botkit/plugins/twim/media", params={"event": "$js"})
    assert other.status == 404
