"""Fixtures for the echo plugin's tests: a migrated pong store on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from botkit.storage import Storage
from botkit.testing.databases import scratch_storage
from plugins.echo.schema import PongTables


@pytest.fixture
async def storage(database_url: str) -> AsyncIterator[Storage]:
    """An empty, migrated pong store; the PostgreSQL one lives in a namespace of its own."""
    async with scratch_storage(database_url, "echo_test", PongTables) as store:
        yield store
