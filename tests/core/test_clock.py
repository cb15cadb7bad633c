"""The fake clock the harness runs jobs on: due jobs run in time order, to their end."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from botkit.clock import FakeClock
from botkit.scheduler import Scheduler

START = datetime(2026, 1, 1, tzinfo=UTC)


async def test_due_jobs_run_in_time_order_and_their_io_is_awaited() -> None:
    clock = FakeClock(START)
    scheduler = Scheduler(logging.getLogger("test.clock"), clock)
    seen: list[tuple[str, datetime]] = []

    def job(name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            # Work in a thread, as a database call is: advance() waits for it.
            await asyncio.to_thread(lambda: None)
            seen.append((name, clock.now()))

        return run

    scheduler.every(30, job("half"), delay=30)
    scheduler.every(20, job("third"), delay=20)
    await clock.advance(60)

    # At 60 s both are due: the one that went to sleep first (at 30 s) runs first.
    expected = [("third", 20), ("half", 30), ("third", 40), ("half", 60), ("third", 60)]
    assert seen == [(name, START + timedelta(seconds=s)) for name, s in expected]
    await scheduler.cancel_all()


async def test_nothing_runs_until_the_clock_moves_and_it_never_goes_back() -> None:
    clock = FakeClock(START)
    scheduler = Scheduler(logging.getLogger("test.clock"), clock)
    runs: list[datetime] = []

    async def job() -> None:
        runs.append(clock.now())

    scheduler.every(10, job)
    await asyncio.sleep(0)
    assert runs == []
    await clock.advance(0)
    assert runs == [START]
    with pytest.raises(ValueError, match="cannot go back"):
        await clock.advance(-1)
    await scheduler.cancel_all()
    await clock.advance(100)
    assert runs == [START]
