"""BotHTTPAPI: the server's wait on a rate limit is kept; request logging only when asked."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from mautrix.api import Method, Path

from botkit.client import BotHTTPAPI, RateLimited
from botkit.testing.fakehs import FakeHomeserver

pytest_plugins = ["botkit.testing.fakehs_fixtures"]


@pytest.fixture
async def api(fakehs: FakeHomeserver) -> AsyncIterator[BotHTTPAPI]:
    """The bot's HTTP API, logged in as @bot."""
    api = BotHTTPAPI(fakehs.url, token=fakehs.create_token("bot"))
    yield api
    await api.session.close()


async def test_a_rate_limit_keeps_the_wait_the_server_asked_for(
    fakehs: FakeHomeserver, api: BotHTTPAPI
) -> None:
    room = fakehs.create_room("alice", members=["bot"])
    fakehs.rate_limit_next(1, retry_after_ms=1500)
    path = Path.v3.rooms[room].send["m.room.message"]["t1"]
    with pytest.raises(RateLimited) as caught:
        await api.request(Method.PUT, path, {"msgtype": "m.text", "body": "hi"})
    assert caught.value.retry_after_ms == 1500


async def test_requests_are_logged_only_at_debug_level(
    api: BotHTTPAPI, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="mau.http"):
        await api.request(Method.GET, Path.v3.account.whoami)
    assert caplog.records == []
    with caplog.at_level(logging.DEBUG, logger="mau.http"):
        await api.request(Method.GET, Path.v3.account.whoami)
    lines = [r.getMessage() for r in caplog.records]
    assert any("/account/whoami" in line and "completed" in line for line in lines), lines
    assert any(line.startswith("req #") and "GET" in line for line in lines), lines
