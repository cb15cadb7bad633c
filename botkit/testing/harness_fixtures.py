"""The ``plugin_harness`` pytest fixture, for a plugin's own fast tests.

botkit's pytest plugin (:mod:`botkit.testing.pytest_plugin`, installed through the
``pytest11`` entry point) brings it: a test only asks for it (annotate it with
:class:`botkit.testing.harness.HarnessFactory`)::

    async def test_hello(plugin_harness: HarnessFactory) -> None:
        h = await plugin_harness(PLUGIN_DIR, config={"greeting": "Hi"})
        await h.command("!hello Bob")
        assert h.replies() == ["Hi, Bob! (greeting number 1)"]
        await h.advance(timedelta(hours=1))          # the jobs that fall due run
        assert (await h.http.get("counts")).status == 200   # a web route

Each harness started through the fixture keeps its database in the test's
``tmp_path`` and is stopped when the test ends. Without botkit installed, name the
plugin in the root ``conftest.py``: ``pytest_plugins = ["botkit.testing.pytest_plugin"]``.
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
