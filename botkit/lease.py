"""Active/standby: which of several processes with one config on one PostgreSQL is active.

The active process holds a PostgreSQL advisory lock (spec of the database:
"Advisory Locks") on a connection of its own, kept out of the pool. The lock
lives exactly as long as that connection: a process killed with SIGKILL, or a
connection the database dropped, lets it go at once, and a standby that polls
with ``pg_try_advisory_lock`` gets it.

Two processes must never both act. So the active one checks its connection
every ``check_interval`` seconds and steps down at the first failure (the
lock may be gone: see :meth:`Lease.watch`), and a standby that got the lock
waits ``takeover_delay`` seconds (more than a check) before it starts: by
then a deposed active one has stopped. The new active one starts from the
stored sync position; events the old one handled but had not yet recorded
are handled again, and their answers are deduplicated by the homeserver by
their transaction IDs, as after a crash.

SQLite has no such lock: this mode needs PostgreSQL (``botkit check`` says so).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .config import BotConfig
from .metrics import Metrics

__all__ = ["Lease", "lease_key"]

log = logging.getLogger("botkit.lease")


def lease_key(owner: str) -> int:
    """The advisory lock's key for a bot account: a signed 64-bit number."""
    digest = hashlib.sha256(f"botkit-lease|{owner}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Lease:
    """The advisory lock of one bot account; ``role`` says where this process stands."""

    def __init__(
        self,
        engine: AsyncEngine,
        owner: str,
        *,
        poll_interval: float = 1.0,
        check_interval: float = 0.5,
        takeover_delay: float = 3.0,
    ) -> None:
        self.engine = engine
        self.key = lease_key(owner)
        self.poll_interval = poll_interval
        self.check_interval = check_interval
        self.takeover_delay = takeover_delay
        #: "standby" while waiting, "active" once held, "stepped down" once lost.
        self.role = "standby"
        #: Whether another process held the lock when this one first asked.
        self.took_over = False
        self._conn: AsyncConnection | None = None
        self._watcher: asyncio.Task[None] | None = None

    @classmethod
    def for_config(cls, engine: AsyncEngine, config: BotConfig) -> Lease:
        """The lease of ``config``'s bot account, with its ``standby`` settings."""
        standby = config.standby
        return cls(
            engine,
            config.homeserver.user_id,
            poll_interval=standby.poll_interval,
            check_interval=standby.check_interval,
            takeover_delay=standby.takeover_delay,
        )

    async def hold(self, metrics: Metrics, on_lost: Callable[[str], None]) -> None:
        """Wait for the lease, count a takeover, then watch it (``on_lost`` when it is lost)."""
        try:
            await self.acquire()
        except BaseException:
            await self._drop()  # stopped while waiting: no connection left behind
            raise
        if self.took_over:
            metrics.takeovers.inc()
        self.watch(on_lost)

    async def acquire(self) -> None:
        """Wait until this process holds the lock (and the takeover delay passed)."""
        first = True
        while True:
            try:
                if await self._try():
                    break
            except Exception as e:  # the database is away: a standby keeps waiting
                log.warning("could not ask for the lease: %s", e)
                await self._drop()
            if first:
                log.info("another process is active; waiting as the standby")
                self.took_over = True
                first = False
            await asyncio.sleep(self.poll_interval)
        if self.took_over:
            # A deposed active process notices within check_interval: let it stop first.
            await asyncio.sleep(self.takeover_delay)
        self.role = "active"
        log.info("this process is now the active one")

    async def _try(self) -> bool:
        if self._conn is None:
            self._conn = await self.engine.connect()
        got = await self._conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
        await self._conn.commit()  # the lock is per session: no transaction must stay open
        return bool(got)

    def watch(self, on_lost: Callable[[str], None]) -> None:
        """Check the lease's connection every ``check_interval``; ``on_lost`` once it fails."""
        self._watcher = asyncio.create_task(self._watch(on_lost), name="botkit-lease")

    async def _watch(self, on_lost: Callable[[str], None]) -> None:
        assert self._conn is not None
        while True:
            await asyncio.sleep(self.check_interval)
            try:
                async with asyncio.timeout(self.check_interval * 2):
                    await self._conn.scalar(text("SELECT 1"))
                    await self._conn.commit()
            except Exception as e:
                self.role = "stepped down"
                log.error("lost the lease (%s: %s); stepping down", type(e).__name__, e)
                on_lost(f"{type(e).__name__}: {e}")
                return

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()

    async def release(self) -> None:
        """Stop watching and let the lock go (closing its connection releases it)."""
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        # Invalidated, not returned to the pool: a pooled session would keep the lock.
        await self._drop()
