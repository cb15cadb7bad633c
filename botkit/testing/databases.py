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
from sqlalchemy import Inspector, Table, UniqueConstraint, inspect, text
from sqlalchemy.engine import Connection

from ..storage import RawStep, Storage, create_engine, migrate
from ..tables import Tables

__all__ = [
    "ENGINES",
    "POSTGRES_URL_VAR",
    "database_url_for",
    "drop_namespace",
    "schema_drift",
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


async def schema_drift(storage: Storage, tables: type[Tables]) -> list[str]:
    """How the schema in ``storage`` differs from the tables ``tables`` declares.

    One line per difference in tables, columns (name, type as the engine spells it,
    nullability), primary keys and indexes (name, columns, uniqueness); empty when
    the migrations build what the queries are written against.
    """
    bound = storage.bind(tables)
    async with storage.connect() as conn:
        return await conn.run_sync(
            lambda sync: _drift(sync, list(bound.bound_metadata.tables.values()))
        )


def _drift(conn: Connection, declared: list[Table]) -> list[str]:
    found = inspect(conn)
    names = set(found.get_table_names())
    problems: list[str] = []
    for table in declared:
        if table.name not in names:
            problems.append(f"{table.name}: missing")
            continue
        problems += [f"{table.name}: {p}" for p in _table_drift(conn, found, table)]
    return problems


def _table_drift(conn: Connection, found: Inspector, table: Table) -> list[str]:
    dialect = conn.dialect
    have = {
        c["name"]: (c["type"].compile(dialect), c["nullable"])
        for c in found.get_columns(table.name)
    }
    pk = found.get_pk_constraint(table.name)["constrained_columns"]
    want = {c.name: (c.type.compile(dialect), c.nullable or False) for c in table.columns}
    problems = []
    for name in sorted(have.keys() | want.keys()):
        got, wanted = have.get(name), want.get(name)
        if got and wanted and name in pk:
            # SQLite lets a primary key column hold NULL unless it says NOT NULL.
            got, wanted = (got[0], False), (wanted[0], False)
        if got != wanted:
            problems.append(f"column {name}: declared {wanted}, found {got}")
    if pk != [c.name for c in table.primary_key.columns]:
        problems.append(
            f"primary key: declared {list(table.primary_key.columns.keys())}, found {pk}"
        )
    have_ix = {
        ix["name"]: (list(ix["column_names"]), bool(ix["unique"]))
        for ix in found.get_indexes(table.name)
        if "duplicates_constraint" not in ix  # PostgreSQL's index behind a UNIQUE
    }
    want_ix = {
        str(ix.name): ([c.name for c in ix.columns], bool(ix.unique)) for ix in table.indexes
    }
    if have_ix != want_ix:
        problems.append(f"indexes: declared {want_ix}, found {have_ix}")
    have_unique = sorted(_unique_constraints(conn, found, table.name))
    want_unique = sorted(
        [c.name for c in u.columns] for u in table.constraints if isinstance(u, UniqueConstraint)
    )
    if have_unique != want_unique:
        problems.append(f"unique: declared {want_unique}, found {have_unique}")
    return problems


def _unique_constraints(conn: Connection, found: Inspector, table: str) -> list[list[str]]:
    if conn.dialect.name != "sqlite":
        return [u["column_names"] for u in found.get_unique_constraints(table)]
    # SQLAlchemy reads SQLite's constraints from the CREATE TABLE text and misses a
    # column's own UNIQUE; SQLite lists every one as an index of origin "u".
    uniques = []
    for index in conn.exec_driver_sql(f'PRAGMA index_list("{table}")').mappings():
        if index["origin"] == "u":
            info = conn.exec_driver_sql(f'PRAGMA index_info("{index["name"]}")').mappings()
            uniques.append([str(column["name"]) for column in info])
    return uniques
