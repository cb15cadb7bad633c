"""Checking a pong against its ping: anyone can post a notice that reads like a pong.

A pong counts only if the ping it names is an event of the same room, sent by a
user of the server the pong credits (``pong.from``). Without the check anyone in
the room could rank any server name with any latency, even for pings that never
were (issue 10). pingstat checks nothing; ``verify_pongs: false`` does the same.

The pings are known without asking: every message the plugin sees in a recorded
room is remembered (room, event ID, sender's server), as any of them may be
answered by some echo bot with some trigger. A pong whose ping is not remembered
(older than the bot's memory, or handled before it) is looked up once on the
homeserver and the answer remembered, found or not. Lookups are bounded, since
each forged pong could name a new event ID: a few at a time, each with a timeout,
and per room a small budget that refills slowly; past it a pong is refused
(``lookup_limit``) rather than queued behind a flood.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import OrderedDict
from typing import Any

from aiohttp import ClientError
from mautrix.api import Method, Path
from mautrix.client import ClientAPI
from mautrix.errors import MatrixRequestError
from mautrix.types import EventID, RoomID

from .pong import Pong, Refusal, server_name

__all__ = ["PingBook", "PingLookupError"]

MEMORY = 20_000
"""How many messages (seen or looked up) are remembered; the oldest are forgotten first."""
LOOKUPS_AT_ONCE = 4
"""Lookups in flight at the same time, over all rooms."""
LOOKUP_TIMEOUT_S = 10.0
"""How long one lookup may take before it counts as failed."""
ROOM_BUDGET = 30
"""Lookups a room may cause in a burst ..."""
ROOM_REFILL_S = 2.0
"""... and how long it takes to earn one more."""

_Key = tuple[str, str]


class PingLookupError(Exception):
    """The homeserver could not answer whether a ping exists (an outage, a timeout)."""


class _Budget:
    """A token bucket: ``ROOM_BUDGET`` lookups at once, one more every ``ROOM_REFILL_S``."""

    def __init__(self, now: float) -> None:
        self.tokens = float(ROOM_BUDGET)
        self.updated = now

    def take(self, now: float) -> bool:
        self.tokens = min(ROOM_BUDGET, self.tokens + (now - self.updated) / ROOM_REFILL_S)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class PingBook:
    """The messages a pong may answer: those seen, and those looked up on the homeserver."""

    def __init__(self, api: ClientAPI, *, memory: int = MEMORY) -> None:
        self.api = api
        self.memory = memory
        # (room, event ID) -> the sender's server, or None: no such event there.
        self._known: OrderedDict[_Key, str | None] = OrderedDict()
        self._pending: dict[_Key, asyncio.Task[str | None]] = {}
        self._slots = asyncio.Semaphore(LOOKUPS_AT_ONCE)
        self._budgets: dict[str, _Budget] = {}

    def saw(self, room_id: RoomID, event_id: EventID, sender: str) -> None:
        """Remember a message: it may be a ping that some echo bot answers."""
        if ":" in sender:
            self._remember((room_id, event_id), server_name(sender))

    async def check(self, pong: Pong) -> Refusal | None:
        """Why ``pong`` does not count, or None if its ping is real and from its ``from``.

        Raises :class:`PingLookupError` when the homeserver cannot tell (worth trying
        again later, unlike a refusal).
        """
        key = (pong.room_id, pong.ping_event_id)
        if key in self._known:
            self._known.move_to_end(key)
            server = self._known[key]
        else:
            task = self._pending.get(key)
            if task is None:
                if not self._budget(pong.room_id).take(time.monotonic()):
                    return Refusal.LOOKUP_LIMIT
                task = asyncio.create_task(self._look_up(*key))
                self._pending[key] = task
                task.add_done_callback(functools.partial(self._settled, key))
            # Shielded: a handler cut off by its timeout leaves the answer to others.
            server = await asyncio.shield(task)
        if server is None:
            return Refusal.UNKNOWN_PING
        if server != pong.pinger_server:
            return Refusal.WRONG_SERVER
        return None

    async def close(self) -> None:
        """Cancel the lookups under way (the instance stops); their pongs' handlers fail."""
        tasks = list(self._pending.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _settled(self, key: _Key, task: asyncio.Task[str | None]) -> None:
        del self._pending[key]
        # Retrieved here, so that a failure nobody waited for is not reported as lost.
        if not task.cancelled():
            task.exception()

    def _budget(self, room_id: str) -> _Budget:
        budget = self._budgets.get(room_id)
        if budget is None:
            if len(self._budgets) >= self.memory:
                self._budgets.clear()  # rooms come and go; a fresh budget is harmless
            budget = self._budgets[room_id] = _Budget(time.monotonic())
        return budget

    async def _look_up(self, room_id: str, event_id: str) -> str | None:
        """The server of the sender of ``event_id`` in ``room_id``, None if there is none.

        Spec: client-server API, "GET /_matrix/client/v3/rooms/{roomId}/event/{eventId}".
        """
        path = Path.v3.rooms[room_id].event[event_id]
        try:
            async with self._slots, asyncio.timeout(LOOKUP_TIMEOUT_S):
                event: Any = await self.api.api.request(Method.GET, path)
        except MatrixRequestError as e:
            if 400 <= e.http_status < 500 and e.http_status != 429:
                # Not found, or not visible to the bot: nothing it can count.
                self._remember((room_id, event_id), None)
                return None
            raise PingLookupError(f"looking up {event_id} in {room_id}: {e}") from e
        except (TimeoutError, OSError, ClientError) as e:
            raise PingLookupError(f"looking up {event_id} in {room_id}: {e!r}") from e
        sender = event.get("sender") if isinstance(event, dict) else None
        server = server_name(sender) if isinstance(sender, str) and ":" in sender else None
        self._remember((room_id, event_id), server)
        return server

    def _remember(self, key: _Key, server: str | None) -> None:
        self._known[key] = server
        self._known.move_to_end(key)
        while len(self._known) > self.memory:
            self._known.popitem(last=False)
