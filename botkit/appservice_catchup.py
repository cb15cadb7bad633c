"""Appservice mode: what a restarted homeserver lost is read back with ``/messages``.

Synapse keeps the events that arrive while a transaction is out in memory only,
and loses them when it stops or crashes (element-hq/synapse#11637); nothing
tells the bot (after a restart Synapse does not even resend the transaction that
was out, unless it had marked the appservice down). So the bot probes the
homeserver (``GET /_matrix/client/versions``) every ``appservice.probe_interval``
seconds; when it did not answer and answers again, each room that had traffic
in the last ``sync.max_catchup_age`` seconds is read back with ``/messages``
(spec: "Pagination"), from its newest event back to the newest one pushed to
the bot (by their timestamps). What is found goes through the same path as a
transaction (see :mod:`botkit.appservice`): the handled records skip everything
already handled, so the lost events are handled once and nothing twice.

Not covered: a restart shorter than the probe interval, and a room whose only
traffic since ``sync.max_catchup_age`` was among the lost events.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mautrix.api import Method, Path
from mautrix.client import ClientAPI

from .history import page_back

__all__ = ["Catchup"]

log = logging.getLogger("botkit.appservice")


class Catchup:
    """Watches the homeserver; after it was away, fetches what it may have lost."""

    def __init__(self, api: ClientAPI, window_s: float, probe_interval: float) -> None:
        self.api = api
        self.window_s = window_s
        self.probe_interval = probe_interval
        #: Whether the last probe failed.
        self.homeserver_down = False
        #: How many catch-ups ran.
        self.catch_ups = 0
        # room -> (when (s) an event of it was last pushed, the newest event's timestamp)
        self._rooms: dict[str, tuple[float, int]] = {}

    def note(self, events: list[dict[str, Any]]) -> None:
        """A transaction with ``events`` was answered."""
        now = time.time()
        for raw in events:
            room_id, ts = raw["room_id"], raw.get("origin_server_ts")
            newest = self._rooms.get(room_id, (now, 0))[1]
            self._rooms[room_id] = (now, max(newest, ts if isinstance(ts, int) else 0))

    async def watch(self, take: Callable[[list[dict[str, Any]]], Awaitable[None]]) -> None:
        """Probe forever; after an outage, hand the events read back to ``take``."""
        while True:
            await asyncio.sleep(self.probe_interval)
            try:
                await self.api.api.request(Method.GET, Path.versions, retry_count=0)
            except Exception as e:
                if not self.homeserver_down:
                    log.warning("the homeserver does not answer (%s); will catch up", e)
                self.homeserver_down = True
                continue
            if self.homeserver_down and await self.catch_up(take):
                self.homeserver_down = False

    async def catch_up(self, take: Callable[[list[dict[str, Any]]], Awaitable[None]]) -> bool:
        """Read the busy rooms back and hand their events to ``take``; False if it failed."""
        try:
            events = await self.lost_events()
            await take(events)
        except Exception as e:  # the homeserver went away again: the probe will retry
            log.warning("could not catch up after the homeserver came back: %s", e)
            self.homeserver_down = True
            return False
        self.note(events)
        self.catch_ups += 1
        log.info("caught up after the homeserver was away: %d recent events read", len(events))
        return True

    async def lost_events(self) -> list[dict[str, Any]]:
        """The recent events of the rooms with traffic, oldest first per room."""
        now = time.time()
        self._rooms = {r: v for r, v in self._rooms.items() if v[0] >= now - self.window_s}
        found: list[dict[str, Any]] = []
        for room_id, (_, oldest_ms) in list(self._rooms.items()):
            events = await page_back(
                self.api, room_id, None, oldest_ms, self.api.mxid, until_join=False
            )
            found.extend(
                {**e, "room_id": room_id}
                for e in events
                if isinstance(e, dict) and e.get("origin_server_ts", oldest_ms) >= oldest_ms
            )
        return found
