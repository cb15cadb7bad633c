"""A fake Matrix homeserver (aiohttp, loopback) for fast tests and benchmarks.

:class:`FakeHomeserver` speaks enough of the client-server API for a bot built on
mautrix-python's client to log in, sync, join, send, redact, read history and move
media, and lets a test play the other users, watch what the bot sent, and inject
faults: rate limits, failed sends, outages.
"""

from __future__ import annotations

from botkit.testing.fakehs.errors import HomeserverRefusal
from botkit.testing.fakehs.server import FakeHomeserver
from botkit.testing.fakehs.state import Hooks, SentEvent

__all__ = ["FakeHomeserver", "HomeserverRefusal", "Hooks", "SentEvent"]
