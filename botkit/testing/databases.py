"""Databases for tests: SQLite always, PostgreSQL when ``BOTKIT_TEST_POSTGRES_URL`` is set.

``database_url`` (a fixture of :mod:`botkit.testing.pytest_plugin`) runs a test
once per engine; :func:`scratch_storage` gives it a migrated namespace that is
dropped afterwards, so that runs sharing one PostgreSQL database never meet.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from ..storage import RawStep, Storage, create_engine, migrate
from ..tables import Tables

__all__ = [
    "ENGINES",
    "POSTGRES_URL_VAR",
    "database_url_for",
    "drop_namespace",
    "scratch_storage",
]

POSTGRES_URL_VAR = "BOTKIT_TEST_POSTGRES_URL"
"""The environment variable with the SQLAlchemy URL of a PostgreSQL test database."""

ENGINES = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgres))
"""Parameters for a fixture or test that runs once per database engine."""


def database_url_for(engine: str, tmp_path: Path) -> str:
    """A URL for ``engine`` ("sqlite": a file in ``tmp_path``); skips without PostgreSQL."""
    if engine == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    url = os.environ.get(POSTGRES_URL_VAR, "")
    if not url:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_URL_VAR} (a SQLAlchemy asyncpg URL)")
    return url


@asynccontextmanager
async def scratch_storage(
    url: str, name: str, schema: type[Tables] | Sequence[RawStep] = (), *, upto: int | None = None
) -> AsyncIterator[Storage]:
    """A storage namespace ``<name>_<random>`` migrated with ``schema`` (up to ``upto``).

    Its tables are dropped on exit.
    """
    engine = create_engine(url)
    storage = Storage(engine, f"{name}_{uuid.uuid4().hex[:12]}")
    try:
        await migrate(storage, schema, upto=upto)
        yield storage
    finally:
        await drop_namespace(storage)
        await engine.dispose()


async def drop_namespace(storage: Storage) -> None:
    """Drop every table of ``storage``'s namespace and forget its schema version."""
    async with storage.begin() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        for table in tables:
            if table.startswith(storage.prefix):
                await conn.execute(text(f"DROP TABLE {table}"))
        await conn.execute(
            text("DELETE FROM botkit_schema_versions WHERE namespace = :ns"),
            {"ns": storage.namespace},
        )
