"""Active/standby and scheduled jobs: the active process alone runs them, then its successor."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from botkit.storage import create_engine
from botkit.testing.bot import BotProcess
from botkit.testing.botconfig import fakehs_account, write_bot_config
from botkit.testing.databases import database_url_for
from botkit.testing.fakehs import FakeHomeserver
from botkit.testing.synapse import free_ports

pytest_plugins = ["botkit.testing.fakehs_fixtures"]
pytestmark = pytest.mark.postgres

PLUGINS = Path(__file__).parent / "plugins"
# Quick checks and a short takeover delay (still longer than a check, as botkit check wants).
STANDBY = {"enabled": True, "poll_interval": 0.1, "check_interval": 0.2, "takeover_delay": 0.5}


async def test_a_scheduled_job_runs_in_the_active_process_only_and_moves_on_takeover(
    fakehs: FakeHomeserver, tmp_path: Path
) -> None:
    url = database_url_for("postgresql", tmp_path)
    first, second = free_ports(count=2)
    # The test database is shared: a bot account and a table of this test's own.
    unique = uuid.uuid4().hex[:8]
    instance = f"ticker{unique}"
    config = write_bot_config(
        tmp_path / "config.yaml",
        account=fakehs_account(fakehs, f"bot{unique}"),
        database_url=url,
        plugins={instance: {"plugin": "ticker"}},
        plugin_dirs=[str(PLUGINS)],
        web={"port": first},
        standby=STANDBY,
    )
    engine = create_engine(url)

    async def runs() -> list[int]:
        """The process of each run of the job, in order."""
        async with engine.connect() as conn:
            rows = await conn.execute(text(f"SELECT pid FROM p_{instance}_runs ORDER BY id"))
            return [pid for (pid,) in rows]

    async def until_runs(pid: int, count: int) -> None:
        # The runs are rows in another process's database: nothing to wait on but them.
        async with asyncio.timeout(60):
            while (await runs()).count(pid) < count:  # noqa: ASYNC110
                await asyncio.sleep(0.05)

    active = BotProcess(config, first, tmp_path / "active.log")
    standby = BotProcess(
        config, second, tmp_path / "standby.log", env={"BOTKIT_WEB__PORT": str(second)}
    )
    try:
        await active.start()
        await standby.start(ready=False)
        assert active.proc is not None and standby.proc is not None
        old, new = active.proc.pid, standby.proc.pid
        # Both processes are up; the job runs several times, in the active one only.
        await until_runs(old, (await runs()).count(old) + 5)
        before = await runs()
        assert set(before) == {old}
        active.kill()
        await until_runs(new, 5)
        health = await standby.health()
        after = await runs()
    finally:
        await standby.stop()
        await active.stop()
        await engine.dispose()
    assert health is not None and health["role"] == "active"
    # One process at a time: every run of the old one, then only runs of the new one.
    assert after == [old] * after.count(old) + [new] * after.count(new)
    assert after[: len(before)] == before
