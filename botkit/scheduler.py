"""Periodic jobs of one plugin instance, cancelled when it stops.

Jobs tell time by a :class:`Clock`: the bot's is the system's, and the test
harness gives a :class:`FakeClock` that runs the due jobs when a test moves it on.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "FakeClock", "Job", "Scheduler", "SystemClock"]

JobFunc = Callable[[], Awaitable[None]]


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


class Job:
    """A scheduled job; ``cancel()`` stops it."""

    def __init__(self, name: str, task: asyncio.Task[None]) -> None:
        self.name = name
        self._task = task

    def cancel(self) -> None:
        """Stop the job (a run in progress is cancelled)."""
        self._task.cancel()

    @property
    def done(self) -> bool:
        """Whether the job has stopped."""
        return self._task.done()


class Scheduler:
    """Runs a plugin instance's jobs; a failing run is logged and the job goes on."""

    def __init__(self, log: logging.Logger, clock: Clock | None = None) -> None:
        self._log = log
        self._clock: Clock = clock or SystemClock()
        self._jobs: list[Job] = []

    def now(self) -> datetime:
        """The time by the scheduler's clock: a job that needs the time reads it here."""
        return self._clock.now()

    def every(
        self, seconds: float, func: JobFunc, *, name: str | None = None, delay: float = 0
    ) -> Job:
        """Run ``func`` every ``seconds``, the first time after ``delay`` seconds."""
        if seconds <= 0:
            raise ValueError("the interval must be positive")

        def next_run(now: datetime) -> float:
            return seconds

        return self._start(name or func.__name__, func, next_run, delay)

    def at(
        self, next_time: Callable[[datetime], datetime], func: JobFunc, *, name: str | None = None
    ) -> Job:
        """Run ``func`` at ``next_time(now)``, again and again (e.g. weekly at a set hour)."""

        def next_run(now: datetime) -> float:
            return max(0.0, (next_time(now) - now).total_seconds())

        return self._start(name or func.__name__, func, next_run, None)

    def _start(
        self,
        name: str,
        func: JobFunc,
        next_run: Callable[[datetime], float],
        first: float | None,
    ) -> Job:
        clock = self._clock

        async def loop() -> None:
            wait = first if first is not None else next_run(clock.now())
            while True:
                await clock.sleep(wait)
                try:
                    await func()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    self._log.exception("scheduled job %r failed", name)
                # Never spin: a next_time that lies in the past still waits a second.
                wait = max(1.0, next_run(clock.now()))

        task = asyncio.create_task(loop(), name=f"job:{name}")
        clock.track(task)
        job = Job(name, task)
        self._jobs.append(job)
        return job

    async def cancel_all(self) -> None:
        """Cancel every job and wait until they have stopped."""
        for job in self._jobs:
            job.cancel()
        await asyncio.gather(*(job._task for job in self._jobs), return_exceptions=True)
        self._jobs.clear()
