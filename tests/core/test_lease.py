"""The active/standby lease on PostgreSQL, and the config that asks for it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from botkit.config.checks import check_main
from botkit.config.files import SAMPLE_NAME, load_defaults, sample_text
from botkit.config.schema import merge_config
from botkit.lease import Lease, lease_key
from botkit.metrics import Metrics
from botkit.storage import create_engine
from botkit.testing.databases import database_url_for

FAST = {"poll_interval": 0.05, "check_interval": 0.1, "takeover_delay": 0.5}


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    made = create_engine(database_url_for("postgresql", tmp_path))
    yield made
    await made.dispose()


async def lease_pid(engine: AsyncEngine, owner: str) -> int:
    """The database backend that holds ``owner``'s lease."""
    key = lease_key(owner)
    # An advisory lock's bigint key is split into classid (high) and objid (low half).
    query = text(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND classid = :high AND objid = :low"
    )
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    async with engine.connect() as conn:
        pid = await conn.scalar(query, {"high": unsigned >> 32, "low": unsigned & 0xFFFFFFFF})
    assert pid is not None, "nobody holds the lease"
    return int(pid)


@pytest.mark.postgres
async def test_a_standby_takes_over_once_the_active_lets_go(engine: AsyncEngine) -> None:
    owner = f"@bot{uuid.uuid4().hex[:8]}:example.org"
    active, standby = Lease(engine, owner, **FAST), Lease(engine, owner, **FAST)
    metrics = Metrics()
    await active.hold(metrics, lambda reason: None)
    waiting = asyncio.create_task(standby.hold(metrics, lambda reason: None))
    await asyncio.sleep(0.3)  # several polls: the standby must still be waiting
    assert (active.role, standby.role, waiting.done()) == ("active", "standby", False)
    await active.release()
    await waiting
    assert (standby.role, standby.took_over, metrics.takeovers.total()) == ("active", True, 1)
    await standby.release()


@pytest.mark.postgres
async def test_a_dropped_connection_steps_the_active_down_before_the_standby_acts(
    engine: AsyncEngine,
) -> None:
    owner = f"@bot{uuid.uuid4().hex[:8]}:example.org"
    active, standby = Lease(engine, owner, **FAST), Lease(engine, owner, **FAST)
    order: list[str] = []
    await active.hold(Metrics(), lambda reason: order.append("active stepped down"))
    waiting = asyncio.create_task(standby.hold(Metrics(), lambda reason: None))
    pid = await lease_pid(engine, owner)
    async with engine.connect() as conn:
        # What a network partition looks like to the database: the session is gone.
        await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    await waiting
    order.append("standby active")
    assert order == ["active stepped down", "standby active"]
    assert active.role == "stepped down"
    await active.release()
    await standby.release()


def test_standby_mode_refuses_sqlite() -> None:
    defaults = load_defaults(sample_text(), SAMPLE_NAME)
    merged, _ = merge_config(defaults, {"standby": {"enabled": True}}, file="c.yaml")
    problems = check_main(merged, file="c.yaml", origins={})
    assert [p.key for p in problems] == ["standby.enabled"]
    assert "needs PostgreSQL" in problems[0].reason
    merged["database"]["url"] = "postgresql+asyncpg://bot@db/bot"
    assert check_main(merged, file="c.yaml", origins={}) == []


def test_the_takeover_delay_must_outlast_the_active_ones_checks() -> None:
    defaults = load_defaults(sample_text(), SAMPLE_NAME)
    standby = {"check_interval": 2.0, "takeover_delay": 3.0}
    merged, _ = merge_config(defaults, {"standby": standby}, file="c.yaml")
    assert [p.key for p in check_main(merged, file="c.yaml", origins={})] == [
        "standby.takeover_delay"
    ]
