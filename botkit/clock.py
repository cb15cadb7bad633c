"""What scheduled jobs tell time by: the system's clock, or a test's fake one."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "FakeClock", "SystemClock"]


class Clock(Protocol):
    """What a scheduler reads the time from and waits on."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once ``seconds`` have passed on this clock."""
        ...

    def track(self, task: asyncio.Task[None]) -> None:
        """``task`` runs a job on this clock (a fake clock waits for it to sleep)."""
        ...


class SystemClock:
    """The real time, and asyncio's sleep."""

    def now(self) -> datetime:
        """``datetime.now(UTC)``."""
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep``."""
        await asyncio.sleep(seconds)

    def track(self, task: asyncio.Task[None]) -> None:
        """Nothing to do: real time passes by itself."""


class FakeClock:
    """A clock that stands still until :meth:`advance` moves it; nothing really sleeps."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        # (wake-up time, order of arrival, waiter): the order wakes ties first come, first served.
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._asleep: dict[asyncio.Task[None], asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()

    def now(self) -> datetime:
        """The fake time."""
        return self._now

    def track(self, task: asyncio.Task[None]) -> None:
        """Have :meth:`advance` wait for ``task`` whenever it is not asleep on this clock."""
        self._tasks.add(task)
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._changed.set()

    async def sleep(self, seconds: float) -> None:
        """Wait until :meth:`advance` passes ``now() + seconds``."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        wake = self._now + timedelta(seconds=max(0.0, seconds))
        heapq.heappush(self._sleepers, (wake, next(self._order), future))
        task = asyncio.current_task()
        if task is not None:
            self._asleep[task] = future
        self._changed.set()
        try:
            await future
        finally:
            if task is not None:
                self._asleep.pop(task, None)

    async def advance(self, delta: timedelta | float) -> None:
        """Move the time on by ``delta`` (seconds, or a timedelta), running what falls due.

        The time moves from one wake-up to the next: each job due runs until it
        sleeps again (or ends) before the clock moves on, as in real time.
        """
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        if seconds < 0:
            raise ValueError("a clock cannot go back")
        target = self._now + timedelta(seconds=seconds)
        await self.settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            self._now = max(self._now, self._sleepers[0][0])
            while self._sleepers and self._sleepers[0][0] <= self._now:
                _, _, future = heapq.heappop(self._sleepers)
                if not future.done():
                    future.set_result(None)
            await self.settle()
        self._now = target

    async def settle(self) -> None:
        """Wait until every job on this clock sleeps on it or has ended."""
        while busy := [t for t in self._tasks if not self._is_asleep(t)]:
            self._changed.clear()
            changed = asyncio.ensure_future(self._changed.wait())
            try:
                await asyncio.wait([*busy, changed], return_when=asyncio.FIRST_COMPLETED)
            finally:
                changed.cancel()

    def _is_asleep(self, task: asyncio.Task[None]) -> bool:
        future = self._asleep.get(task)
        return future is not None and not future.done()
