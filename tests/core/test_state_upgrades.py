"""The record of room upgrades in botkit's own tables, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

from botkit.state import StateStore
from botkit.storage import create_engine


async def test_upgrades_are_recorded_once_per_old_room_and_bot(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        owner = f"@bot{uuid.uuid4().hex[:8]}:x"
        store, other = StateStore(engine, owner), StateStore(engine, owner + "2")
        await store.setup()
        await store.setup()  # the migration runs once
        assert await store.upgrades() == {}

        assert await store.record_upgrade("!old:x", "!new")
        assert not await store.record_upgrade("!old:x", "!elsewhere")
        assert await other.record_upgrade("!other:x", "!next")

        assert await store.upgrades() == {"!old:x": "!new"}
        assert await other.upgrades() == {"!other:x": "!next"}
    finally:
        await engine.dispose()
