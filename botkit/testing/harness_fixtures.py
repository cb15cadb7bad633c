"""The ``plugin_harness`` pytest fixture, for a plugin's own fast tests.

Enable it in the plugin's ``conftest.py``::

    pytest_plugins = ["botkit.testing.harness_fixtures"]

and use it in a test (annotate with :class:`botkit.testing.harness.HarnessFactory`)::

    async def test_hello(plugin_harness: HarnessFactory) -> None:
        h = await plugin_harness(PLUGIN_DIR, config={"greeting": "Hi"})
        await h.command("!hello Bob")
        assert h.replies() == ["Hi, Bob! (greeting number 1)"]

Each harness started through the fixture keeps its database in the test's
``tmp_path`` and is stopped when the test ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Unpack

import pytest

from ..loader import PluginSource
from . import harness
from .harness import HarnessFactory, HarnessOptions, PluginHarness

__all__ = ["plugin_harness"]


@pytest.fixture
async def plugin_harness(tmp_path: Path) -> AsyncIterator[HarnessFactory]:
    """Start plugin instances against a recording client; see :func:`harness.plugin_harness`."""
    async with AsyncExitStack() as stack:

        async def start(
            plugin: Path | str | PluginSource, **options: Unpack[HarnessOptions]
        ) -> PluginHarness:
            options.setdefault("tmp_path", tmp_path)
            return await stack.enter_async_context(harness.plugin_harness(plugin, **options))

        yield start
