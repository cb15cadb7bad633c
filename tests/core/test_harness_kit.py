"""The harness runs scheduled jobs on a fake clock and answers the built-in ``!help``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

import pytest

from botkit import ServiceKey, ServiceUnavailable
from botkit.testing.harness import HarnessFactory
from tests.core.kit import write_plugin

pytest_plugins = ["botkit.testing.harness_fixtures"]

START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)  # a Monday

JOBS = """\
    async def start(self) -> None:
        self.runs: list[datetime] = []
        self.weekly: list[datetime] = []
        self.failures = 0
        self.scheduler.every(3600, self.hourly)
        self.scheduler.at(self.next_monday_nine, self.monday)
        self.scheduler.every(600, self.flaky, delay=600)

    async def hourly(self) -> None:
        self.runs.append(self.scheduler.now())

    def next_monday_nine(self, now: datetime) -> datetime:
        from datetime import timedelta
        day = now.replace(hour=9, minute=0, second=0, microsecond=0)
        while day <= now or day.weekday() != 0:
            day += timedelta(days=1)
        return day

    async def monday(self) -> None:
        self.weekly.append(self.scheduler.now())
        await self.client.send_text("!room:example.org", "Monday, nine o'clock")

    async def flaky(self) -> None:
        self.failures += 1
        if self.failures == 1:
            raise RuntimeError("the first run fails")

    @command("karma top week", help="The week's best")
    async def top_week(self, ctx: CommandContext, count: int = 3) -> None:
        await ctx.reply(f"top {count}")
"""


async def test_jobs_run_when_the_fake_clock_passes_their_time(
    plugin_harness: HarnessFactory, tmp_path: Path
) -> None:
    h = await plugin_harness(write_plugin(tmp_path, JOBS), start_time=START)
    plugin = h.plugin

    await h.advance(timedelta(minutes=59))
    assert plugin.runs == [START]  # type: ignore[attr-defined]

    await h.advance(timedelta(hours=2, minutes=1))

    hours = [START + timedelta(hours=n) for n in range(4)]  # the third hour is due, too
    assert plugin.runs == hours  # type: ignore[attr-defined]
    assert h.clock.now() == START + timedelta(hours=3)


async def test_a_weekly_job_runs_at_its_hour_and_sends(
    plugin_harness: HarnessFactory, tmp_path: Path
) -> None:
    h = await plugin_harness(write_plugin(tmp_path, JOBS), start_time=START)

    await h.advance(timedelta(days=8))

    monday_nine = START.replace(hour=9, minute=0)
    assert h.plugin.weekly == [monday_nine, monday_nine + timedelta(days=7)]  # type: ignore[attr-defined]
    assert h.replies() == ["Monday, nine o'clock"] * 2


async def test_a_failing_job_is_reported_and_runs_again(
    plugin_harness: HarnessFactory, tmp_path: Path
) -> None:
    h = await plugin_harness(write_plugin(tmp_path, JOBS), start_time=START)

    await h.advance(timedelta(minutes=20))

    assert h.plugin.failures == 2  # type: ignore[attr-defined]
    assert [str(e.exception) for e in h.errors] == ["the first run fails"]


async def test_help_lists_the_plugins_commands(
    plugin_harness: HarnessFactory, tmp_path: Path
) -> None:
    h = await plugin_harness(write_plugin(tmp_path, JOBS))

    await h.command("!help")
    await h.command("!help karma")

    listing, usage = h.replies()
    assert "`!karma top week [count]`: The week's best" in listing
    assert "`!help [topic...]`" in listing
    assert usage == "**!karma top week [count]**: The week's best"


async def test_a_restart_leaves_one_run_of_each_job(
    plugin_harness: HarnessFactory, tmp_path: Path
) -> None:
    h = await plugin_harness(write_plugin(tmp_path, JOBS), start_time=START)
    await h.advance(0)

    await h.restart()
    await h.advance(timedelta(hours=1))

    # The new plugin object's job: its first run now, its second an hour on; the
    # first object's job was cancelled with it.
    assert h.plugin.runs == [START, START + timedelta(hours=1)]  # type: ignore[attr-defined]


SERVICE = """\
    async def start(self) -> None:
        self.services.provide(COUNTER, Counter())
"""
COUNTER_PRELUDE = """
from botkit import ServiceKey

class Counter:
    def count(self) -> int:
        return 3

COUNTER = ServiceKey("counter", Counter)
"""


@runtime_checkable
class Counting(Protocol):
    def count(self) -> int: ...


async def test_a_test_gets_the_service_a_plugin_provides_by_its_key(
    plugin_harness: HarnessFactory, tmp_path: Path
) -> None:
    h = await plugin_harness(write_plugin(tmp_path, SERVICE, prelude=COUNTER_PRELUDE))

    assert h.service(ServiceKey("counter", Counting)).count() == 3
    with pytest.raises(ServiceUnavailable, match="'scores'"):
        h.service(ServiceKey("scores", Counting))
