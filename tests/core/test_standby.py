"""Two processes, one config, one PostgreSQL: the standby takes over, nothing lost or doubled."""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text

from botkit.storage import create_engine
from botkit.testing.bot import BotProcess
from botkit.testing.databases import database_url_for
from botkit.testing.synapse import Synapse, free_ports
from botkit.testing.talk import ask, eventually, wait_joined
from tests.core.test_delivery import Setup, setup
from tests.core.test_lease import lease_pid

pytestmark = pytest.mark.postgres

# A deposed active process notices within a check; the standby waits well past that.
STANDBY = {"enabled": True, "poll_interval": 0.2, "check_interval": 0.25, "takeover_delay": 3.0}


@dataclass
class Pair:
    """The active process and the standby, on one config."""

    s: Setup
    active: BotProcess
    standby: BotProcess
    database_url: str


@asynccontextmanager
async def pair(synapse: Synapse, tmp_path: Path) -> AsyncIterator[Pair]:
    url = database_url_for("postgresql", tmp_path)
    first, second = free_ports(count=2)
    async with setup(
        synapse, tmp_path, database={"url": url}, web={"port": first}, standby=STANDBY
    ) as s:
        active = BotProcess(s.config, first, tmp_path / "active.log")
        standby = BotProcess(
            s.config, second, tmp_path / "standby.log", env={"BOTKIT_WEB__PORT": str(second)}
        )
        await active.start()
        try:
            await standby.start(ready=False)
            try:
                health = await standby.health()
                assert health is not None and health["role"] == "standby"
                yield Pair(s, active, standby, url)
            finally:
                await standby.stop()
        finally:
            await active.stop()


async def role(proc: BotProcess) -> str | None:
    health = await proc.health()
    return None if health is None else str(health.get("role"))


async def test_the_standby_finishes_a_burst_after_the_active_is_killed(
    synapse: Synapse, tmp_path: Path
) -> None:
    threshold = random.Random().randrange(20, 150)
    async with pair(synapse, tmp_path) as p:
        s = p.s
        await wait_joined(s.alice, s.room, s.bot.user_id)
        await ask(s.alice, s.room, s.bot.user_id, "!pong warm-up", "pong warm-up")
        for i in range(200):
            await s.alice.send_text(s.room, f"!pong {i}")
            if i == threshold:
                p.active.kill()
        await eventually(lambda: p.active.proc is not None and p.active.proc.poll() is not None)
        await s.finish(timeout=120)
        health = await p.standby.health()
        tally = s.tally()
    assert health is not None and health["role"] == "active"
    assert [str(i) for i in range(200) if tally[str(i)] == 0] == [], f"lost (kill at {threshold})"
    assert {t: n for t, n in tally.items() if n > 1} == {}, f"repeated (kill at {threshold})"


async def test_a_dropped_database_connection_steps_the_active_down_first(
    synapse: Synapse, tmp_path: Path
) -> None:
    async with pair(synapse, tmp_path) as p:
        s = p.s
        await wait_joined(s.alice, s.room, s.bot.user_id)
        await ask(s.alice, s.room, s.bot.user_id, "!pong before", "pong before")
        engine = create_engine(p.database_url)
        try:
            pid = await lease_pid(engine, s.bot.user_id)
            async with engine.connect() as conn:
                await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        finally:
            await engine.dispose()
        roles: list[tuple[str | None, int | None]] = []

        async def standby_acts() -> bool:
            # What the old one was doing at the moment the standby took over.
            assert p.active.proc is not None
            roles.append((await role(p.standby), p.active.proc.poll()))
            return roles[-1][0] == "active"

        for _ in range(1200):
            if await standby_acts():
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the standby never took over")
        await ask(s.alice, s.room, s.bot.user_id, "!pong after", "pong after", 60)
        tally = s.tally()
    assert roles[-1][1] is not None, "the old active process still ran when the standby acted"
    print(f"the deposed process exited with {roles[-1][1]}", file=sys.stderr)
    assert tally["before"] == 1 and tally["after"] == 1
