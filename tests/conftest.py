"""Fixtures shared by every test: a real Synapse and friends (see botkit.testing)."""

from __future__ import annotations

pytest_plugins = ["botkit.testing.pytest_plugin"]
