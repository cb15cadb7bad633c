"""The handled records are written beside the sync loop: a slow database holds up no event."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

import botkit.pipeline
from botkit.testing.bot import running_bot
from botkit.testing.fakehs import FakeHomeserver, SentEvent
from botkit.testing.talk import eventually
from tests.core.pongbot import answer_to, pong_bot, text

pytest_plugins = ["botkit.testing.fakehs_fixtures"]


async def test_what_was_handled_is_recorded_once_the_room_goes_quiet(tmp_path: Path) -> None:
    # The bot's own answers do not come back in its syncs: nothing wakes its sync loop.
    async with FakeHomeserver(echo_sends=False) as fakehs:
        config, room, alice = pong_bot(fakehs, tmp_path, sync={"timeout": 30})
        async with running_bot(config):
            event_id = fakehs.inject(room, alice, text("!pong quiet"))
            await fakehs.wait_for_sent(answer_to("quiet"))
            # The bot's next sync waits 30 s for news; the record of this one does not.
            with sqlite3.connect(tmp_path / "botkit.db") as db:

                def recorded() -> bool:
                    query = "SELECT 1 FROM botkit_handled WHERE event_id = ?"
                    return db.execute(query, (event_id,)).fetchone() is not None

                await eventually(recorded, timeout=10, what="the handled record")


async def test_a_locked_database_holds_up_no_command_and_loses_no_record(
    fakehs: FakeHomeserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every turn of the sync loop writes its records, so that each one meets the lock.
    monkeypatch.setattr(botkit.pipeline, "FLUSH_INTERVAL", 0.0)
    config, room, alice = pong_bot(fakehs, tmp_path)
    async with running_bot(config):
        # Another writer holds SQLite's write lock (the bot waits up to 30 s for it).
        # It is taken in a thread: the bot may be writing, and must go on meanwhile.
        lock = sqlite3.connect(
            tmp_path / "botkit.db", timeout=10, isolation_level=None, check_same_thread=False
        )
        await asyncio.to_thread(lock.execute, "BEGIN IMMEDIATE")
        try:
            for n in range(3):
                since = len(fakehs.sent)
                fakehs.inject(room, alice, text(f"!pong {n}"))
                await fakehs.wait_for_sent(answer_to(str(n)), timeout=20, since=since)
        finally:
            lock.rollback()
            lock.close()
    # Stopped once the lock was gone: what it handled is recorded, so a restart
    # answers none of it again.
    async with running_bot(config):
        fakehs.inject(room, alice, text("!pong after"))
        await fakehs.wait_for_sent(answer_to("after"), timeout=20)

    def tag(event: SentEvent) -> str:
        return str(event.content.get("body", "")).removeprefix("pong ")

    answers = Counter(tag(e) for e in fakehs.sent if e.sender != alice)
    assert answers == {"0": 1, "1": 1, "2": 1, "after": 1}
