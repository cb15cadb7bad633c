"""Per-instance storage: namespaced tables and versioned migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from botkit.state import StateStore
from botkit.storage import Storage, create_engine, migrate
from botkit.testing.databases import drop_namespace


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url)
    yield eng
    await eng.dispose()


async def create_notes(conn: AsyncConnection, storage: Storage) -> None:
    await conn.execute(
        text(f"CREATE TABLE {storage.table('notes')} (id INTEGER PRIMARY KEY, body TEXT)")
    )


async def add_author(conn: AsyncConnection, storage: Storage) -> None:
    await conn.execute(text(f"ALTER TABLE {storage.table('notes')} ADD COLUMN author TEXT"))


async def broken_step(conn: AsyncConnection, storage: Storage) -> None:
    await conn.execute(text(f"INSERT INTO {storage.table('notes')} (id, body) VALUES (1, 'x')"))
    raise RuntimeError("step 3 fails half-way")


async def test_migrations_run_once_each_in_order(engine: AsyncEngine) -> None:
    storage = Storage(engine, f"notes-{uuid.uuid4().hex[:8]}")
    try:
        assert await migrate(storage, [create_notes]) == 1
        # A restart with one more step runs only the new one.
        assert await migrate(storage, [create_notes, add_author]) == 2
        assert await migrate(storage, [create_notes, add_author]) == 2
        async with storage.begin() as conn:
            await conn.execute(
                text(
                    f"INSERT INTO {storage.table('notes')} (id, body, author) VALUES (1, 'a', 'b')"
                )
            )
    finally:
        await drop_namespace(storage)


async def test_a_failing_migration_leaves_the_previous_version(engine: AsyncEngine) -> None:
    storage = Storage(engine, f"notes-{uuid.uuid4().hex[:8]}")
    try:
        with pytest.raises(RuntimeError, match="half-way"):
            await migrate(storage, [create_notes, add_author, broken_step])
        assert await migrate(storage, [create_notes, add_author]) == 2
        async with storage.begin() as conn:
            rows = await conn.execute(text(f"SELECT COUNT(*) FROM {storage.table('notes')}"))
            assert rows.scalar_one() == 0  # the failed step's insert was rolled back
    finally:
        await drop_namespace(storage)


def test_instances_get_separate_table_names() -> None:
    engine = create_engine("sqlite+aiosqlite://")
    a, b = Storage(engine, "echo"), Storage(engine, "Echo-2")
    assert a.table("pongs") == "p_echo_pongs"
    assert b.table("pongs") == "p_echo_2_pongs"


async def test_handled_events_and_the_sync_token_are_committed_together(
    engine: AsyncEngine,
) -> None:
    owner = f"@bot{uuid.uuid4().hex[:8]}:example.org"
    store = StateStore(engine, owner)
    await store.setup()
    await store.commit([("echo", "$a"), ("twim", "$a"), ("echo", "$b")], "s42")
    await store.commit([("echo", "$a")], None)  # redelivered: no error, no second row
    assert await store.get("sync_token") == "s42"
    assert await store.handled_among(["$a", "$b", "$c"]) >= {
        ("echo", "$a"),
        ("twim", "$a"),
        ("echo", "$b"),
    }
    other = StateStore(engine, owner + "x")  # bots sharing a database don't mix
    assert await other.get("sync_token") is None
    assert await other.handled_among(["$a", "$b"]) == set()
