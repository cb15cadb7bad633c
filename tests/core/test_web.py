"""The web server against requests it cannot serve: very long URLs and headers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from botkit.web import PluginWeb, WebServer


@pytest_asyncio.fixture
async def server() -> AsyncIterator[WebServer]:
    def no_plugins(name: str) -> PluginWeb | None:
        return None

    web = WebServer("127.0.0.1", 0, lambda: {"ready": True}, lambda: "", no_plugins)
    await web.start()
    yield web
    await web.stop()


async def test_an_8_kb_url_is_answered_and_a_longer_one_refused_quietly(
    server: WebServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    base = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession() as session:
        # An 8 KB link is served as any other: no such plugin here.
        async with session.get(f"{base}/_botkit/plugins/x/{'a' * 8192}") as resp:
            assert resp.status == 404
        async with session.get(f"{base}/_botkit/plugins/x/{'a' * 40_000}") as resp:
            assert resp.status == 400
        async with session.get(f"{base}/_botkit/health", headers={"X-Big": "b" * 40_000}) as resp:
            assert resp.status == 400
        async with session.get(f"{base}/_botkit/health") as resp:
            assert resp.status == 200
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "Traceback" not in caplog.text
