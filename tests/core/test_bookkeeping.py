"""The handled records are written beside the sync loop: a slow database holds up no event."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from mautrix.types import DeviceID, UserID

import botkit.sync
from botkit.testing.bot import running_bot
from botkit.testing.botconfig import write_bot_config
from botkit.testing.fakehs import FakeHomeserver, SentEvent
from botkit.testing.synapse import MatrixAccount

pytest_plugins = ["botkit.testing.fakehs_fixtures"]

PLUGINS = Path(__file__).parent / "plugins"


def text(body: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": body}


def answer_to(tag: str) -> Any:
    return lambda event: event.content.get("body") == f"pong {tag}"


async def test_a_locked_database_holds_up_no_command_and_loses_no_record(
    fakehs: FakeHomeserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every turn of the sync loop writes its records, so that each one meets the lock.
    monkeypatch.setattr(botkit.sync, "_FLUSH_INTERVAL", 0.0)
    bot_id = UserID(f"@bot:{fakehs.server_name}")
    account = MatrixAccount(bot_id, fakehs.create_token("bot"), DeviceID(""), "", fakehs.url)
    room = fakehs.create_room("alice", members=["bot"])
    alice = f"@alice:{fakehs.server_name}"
    config = write_bot_config(
        tmp_path / "config.yaml", account=account, plugins=["pong"], plugin_dirs=[str(PLUGINS)]
    )
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

    answers = Counter(tag(e) for e in fakehs.sent if e.sender == bot_id)
    assert answers == {"0": 1, "1": 1, "2": 1, "after": 1}
