"""Pytest fixtures around :class:`~botkit.testing.fakehs.FakeHomeserver`.

Load them from a ``conftest.py`` or test module with::

    pytest_plugins = ["botkit.testing.fakehs_fixtures"]
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from botkit.testing.fakehs import FakeHomeserver

__all__ = ["fakehs"]


@pytest_asyncio.fixture
async def fakehs() -> AsyncIterator[FakeHomeserver]:
    """A started fake homeserver, fresh for each test and closed after it."""
    async with FakeHomeserver() as server:
        yield server
