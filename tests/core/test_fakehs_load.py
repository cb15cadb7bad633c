"""The fake homeserver's benchmark side: capped syncs, unechoed sends, hooks, the load."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from mautrix.client import Client
from mautrix.types import (
    EventType,
    MessageEvent,
    MessageType,
    RoomID,
    SyncToken,
    TextMessageEventContent,
    UserID,
)

from botkit.testing.fakehs import FakeHomeserver, Hooks, SentEvent
from botkit.testing.fakehs.load import Load, LoadSettings
from botkit.testing.fakehs.procstat import process_age, sample, system_busy


class Watcher(Hooks):
    def __init__(self) -> None:
        self.requested: list[int | None] = []
        self.answered: list[int] = []
        self.sent: list[SentEvent] = []

    def sync_requested(self, user_id: UserID, since: int | None) -> None:
        self.requested.append(since)

    def sync_answered(self, user_id: UserID, until: int) -> None:
        self.answered.append(until)

    def event_sent(self, sent: SentEvent) -> None:
        self.sent.append(sent)


@pytest.fixture
async def hs() -> AsyncIterator[FakeHomeserver]:
    async with FakeHomeserver(events_per_sync=3, echo_sends=False) as server:
        yield server


@pytest.fixture
async def bot(hs: FakeHomeserver) -> AsyncIterator[Client]:
    client = Client(UserID(f"@bot:{hs.server_name}"), base_url=hs.url, token=hs.create_token("bot"))
    yield client
    client.stop()
    await client.api.session.close()


def timeline(data: dict[str, Any], room: RoomID) -> list[Any]:
    joined = data["rooms"]["join"]
    return list(joined[room]["timeline"]["events"]) if room in joined else []


async def test_a_capped_sync_serves_the_stream_in_steps(hs: FakeHomeserver, bot: Client) -> None:
    room = hs.create_room("alice", members=["bot"])
    first: dict[str, Any] = await bot.sync()  # the initial sync is never capped
    for i in range(7):
        hs.inject(room, "alice", {"msgtype": "m.text", "body": f"m{i}"})
    since, bodies = SyncToken(first["next_batch"]), []
    for _ in range(3):
        data: dict[str, Any] = await bot.sync(since=since)
        bodies.append([e["content"]["body"] for e in timeline(data, room)])
        since = SyncToken(data["next_batch"])
    assert bodies == [["m0", "m1", "m2"], ["m3", "m4", "m5"], ["m6"]]
    assert since == f"s{hs.position}"


async def test_sends_are_recorded_but_not_served_back(hs: FakeHomeserver, bot: Client) -> None:
    room = hs.create_room("alice", members=["bot"])
    watcher = Watcher()
    hs.hooks = watcher
    since = SyncToken((await bot.sync())["next_batch"])
    content = TextMessageEventContent(msgtype=MessageType.NOTICE, body="hi")
    event_id = await bot.send_message(room, content)
    assert [s.event_id for s in hs.sent] == [event_id] == [s.event_id for s in watcher.sent]
    assert timeline(await bot.sync(since=since, timeout=0), room) == []
    assert watcher.requested == [None, int(since[1:])]
    assert watcher.answered == [hs.position, hs.position]


async def test_the_load_counts_every_answer_once(hs: FakeHomeserver, bot: Client) -> None:
    room = hs.create_room("loadgen", members=["bot"])

    async def on_message(event: MessageEvent) -> None:
        body = str(event.content.body)
        if body.startswith("!pong "):
            answer = TextMessageEventContent(msgtype=MessageType.NOTICE, body=body[1:])
            await bot.send_message(event.room_id, answer)

    bot.add_event_handler(EventType.ROOM_MESSAGE, on_message)
    bot.ignore_initial_sync = True
    settings = LoadSettings(events=20, per_sync=3, start_delay=0, deadline=30)
    load = Load(hs, room, UserID(f"@loadgen:{hs.server_name}"), bot.mxid, settings)
    hs.hooks = load
    syncing = bot.start(None)
    try:
        async with asyncio.timeout(30):
            result = await load.run()
    finally:
        bot.stop()
        await asyncio.gather(syncing, return_exceptions=True)
    assert (result["answered"], result["lost"], result["duplicates"]) == (20, 0, 0)
    assert result["timed_out"] is False
    # mautrix syncs on while its handlers run, so its backlog may pass one batch.
    assert 0 < result["max_backlog"] <= 20
    assert result["latency_ms"]["p50"] is not None


def test_procstat_reads_this_process() -> None:
    me = sample(os.getpid())
    assert me is not None and me.cpu_s > 0 and 0 < me.rss_mb <= me.peak_rss_mb
    age = process_age(os.getpid())
    assert age is not None and age > 0
    busy, total = system_busy()
    assert 0 <= busy <= total
