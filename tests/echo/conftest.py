"""Fixtures for the echo plugin's tests: a migrated pong store on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from botkit.storage import Storage, create_engine, migrate
from plugins.echo.stats import MIGRATIONS

POSTGRES_URL_VAR = "BOTKIT_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """An empty, migrated pong store; the PostgreSQL one lives in a namespace of its own."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'echo.db'}"
    else:
        url = os.environ.get(POSTGRES_URL_VAR, "")
        if not url:
            pytest.skip(f"PostgreSQL tests need {POSTGRES_URL_VAR} (a SQLAlchemy asyncpg URL)")
    engine = create_engine(url)
    store = Storage(engine, f"echo_test_{uuid.uuid4().hex[:12]}")
    try:
        await migrate(store, MIGRATIONS)
        yield store
    finally:
        async with store.begin() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {store.table('pongs')}"))
            await conn.execute(
                text("DELETE FROM botkit_schema_versions WHERE namespace = :ns"),
                {"ns": store.namespace},
            )
        await engine.dispose()
