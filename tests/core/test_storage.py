"""Per-instance storage: namespaced tables and versioned migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from botkit.changes import Changes, DeadLetter, PendingRow
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
    await store.commit(Changes(handled=[("echo", "$a"), ("twim", "$a"), ("echo", "$b")]), "s42")
    await store.commit(Changes(handled=[("echo", "$a")]), None)  # redelivered: no second row
    assert await store.get("sync_token") == "s42"
    assert await store.handled_among(["$a", "$b", "$c"]) >= {
        ("echo", "$a"),
        ("twim", "$a"),
        ("echo", "$b"),
    }
    other = StateStore(engine, owner + "x")  # bots sharing a database don't mix
    assert await other.get("sync_token") is None
    assert await other.handled_among(["$a", "$b"]) == set()


def pending(instance: str, event_id: str, seq: int, attempts: int = 1) -> PendingRow:
    return PendingRow(
        instance, event_id, "!r:x", seq, json.dumps({"event_id": event_id}), attempts, "e"
    )


async def test_pending_events_and_dead_letters_are_kept_and_replayed(engine: AsyncEngine) -> None:
    store = StateStore(engine, f"@bot{uuid.uuid4().hex[:8]}:example.org")
    await store.setup()
    changes = Changes()
    changes.keep(pending("echo", "$b", 2))
    changes.keep(pending("echo", "$a", 1))
    changes.keep(pending("twim", "$c", 3))
    await store.commit(changes, "s1")
    assert [(r.instance, r.event_id) for r in await store.pending()] == [
        ("echo", "$a"),
        ("echo", "$b"),
        ("twim", "$c"),
    ]
    # A retry that failed again, one that succeeded, one given up on: one write.
    changes.keep(pending("echo", "$a", 1, attempts=2))
    changes.done("echo", "$b")
    changes.park(DeadLetter("twim", "$c", "!r:x", '{"event_id": "$c"}', 8, "boom"))
    await store.commit(changes, None)
    assert [(r.event_id, r.attempts) for r in await store.pending()] == [("$a", 2)]
    assert await store.handled_among(["$b"]) == {("echo", "$b")}
    assert [(d.instance, d.event_id, d.error) for d in await store.dead_letters()] == [
        ("twim", "$c", "boom")
    ]
    assert await store.dead_letter_counts() == {"twim": 1}
    assert await store.replay("twim", "$nope") == []
    assert await store.replay("twim") == ["$c"]
    assert await store.dead_letters() == []
    replayed = await store.pending(replayed_only=True)
    assert [(r.event_id, r.attempts) for r in replayed] == [("$c", 0)]
    await store.mark_picked_up(replayed)
    assert await store.pending(replayed_only=True) == []
    assert len(await store.pending()) == 2


def test_changes_keep_the_latest_news_of_each_event() -> None:
    taken = Changes()
    taken.keep(pending("echo", "$a", 1))
    taken.done("echo", "$b")
    newer = Changes()
    newer.done("echo", "$a")  # handled while the older write was failing
    newer.restore(taken)
    assert (newer.pending, newer.resolved) == ({}, {("echo", "$a"), ("echo", "$b")})
    assert newer.handled == [("echo", "$b"), ("echo", "$a")]


async def test_a_bot_does_not_see_the_rows_of_a_bot_whose_name_differs_by_a_wildcard(
    engine: AsyncEngine,
) -> None:
    tag = uuid.uuid4().hex[:8]
    mine = StateStore(engine, f"@my_bot{tag}:example.org")
    other = StateStore(engine, f"@myxbot{tag}:example.org")  # "_" is LIKE's any character
    await mine.setup()
    changes = Changes()
    changes.keep(pending("echo", "$a", 1))
    changes.park(DeadLetter("echo", "$b", "!r:x", '{"event_id": "$b"}', 8, "boom"))
    await other.commit(changes, None)
    assert [r.event_id for r in await other.pending()] == ["$a"]
    assert await mine.pending() == []
    assert await mine.dead_letters() == []
    assert await mine.dead_letter_counts() == {}
