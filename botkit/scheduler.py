"""Periodic jobs of one plugin instance, cancelled when it stops.

Jobs tell time by a :class:`~botkit.clock.Clock`: the bot's is the system's, and
the test harness gives a :class:`~botkit.clock.FakeClock` that runs the due jobs
when a test moves it on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from .clock import Clock, SystemClock

__all__ = ["Job", "Scheduler"]

JobFunc = Callable[[], Awaitable[None]]


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
