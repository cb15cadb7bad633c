"""The TWIM tables on SQLite (and PostgreSQL when BOTKIT_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from mautrix.types import EventID, RoomID

from botkit.testing.databases import scratch_storage
from plugins.twim.store import MIGRATIONS, PublishedWeek, TwimStore
from tests.twim.stored import ALICE, EDITOR, ROOM, Room


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[TwimStore]:
    async with scratch_storage(database_url, "twim_test", MIGRATIONS) as storage:
        yield TwimStore(storage)


async def test_writing_an_event_twice_changes_nothing(store: TwimStore) -> None:
    room = Room()
    report = room.say(ALICE, "news", html="<p>news</p>")
    room.react(EDITOR, report, "⭕")
    for _ in range(2):
        await store.add_message(room.messages[0])
        await store.add_reaction(room.reactions[0])
        await store.add_redaction(EventID("$gone"), EventID("$r1"), 5)

    assert await store.message(report) == room.messages[0]
    assert await store.reactions_to(report) == room.reactions
    assert await store.is_redacted(EventID("$gone"))


async def test_the_week_holds_what_came_after_the_cutoff_in_the_watched_rooms(
    store: TwimStore,
) -> None:
    room = Room()
    old = room.say(ALICE, "last week's news")
    new = room.say(ALICE, "this week's news")
    edit = room.edit(ALICE, new, "this week's news, edited")
    room.react(EDITOR, old, "⭕")
    kept = room.react(EDITOR, new, "⭕")
    undone = room.react(EDITOR, new, "🏢")
    for row in room.messages:
        await store.add_message(row)
    for reaction in room.reactions:
        await store.add_reaction(reaction)
    await store.add_redaction(undone, EventID("$r"), 10**7)
    cutoff = room.messages[0].ts

    rows = await store.week_rows([ROOM], cutoff)

    assert [m.event_id for m in rows.messages] == [new, edit]
    assert {r.event_id for r in rows.reactions} == {kept, undone}
    assert rows.redacted == {undone}
    assert [r.event_id for r in await store.reactions_to(new)] == [kept]
    empty = await store.week_rows([RoomID("!other:example.org")], 0)
    assert (empty.messages, empty.reactions) == ([], [])


async def test_weeks_live_videos_and_acknowledgements(store: TwimStore) -> None:
    assert await store.last_week() is None
    first = PublishedWeek(EventID("$c1"), date(2024, 5, 3), 1000, "/out/a.md")
    second = PublishedWeek(EventID("$c2"), date(2024, 5, 10), 2000, "/out/b.md")
    await store.add_week(second)
    await store.add_week(first)
    await store.add_week(first)
    assert await store.last_week() == second
    assert await store.week(day=date(2024, 5, 3)) == first
    assert await store.week(command_id=EventID("$c2")) == second

    await store.set_live(EventID("$l1"), 1500, "aaaaaaaaaaa")
    await store.set_live(EventID("$l2"), 2500, "bbbbbbbbbbb")
    assert await store.live(1000) == "bbbbbbbbbbb"
    await store.set_live(EventID("$l3"), 2600, None)
    assert await store.live(1000) is None
    assert await store.live(2600) is None

    await store.set_ack(EventID("$m"), EventID("$ack"))
    await store.set_ack(EventID("$m"), EventID("$ack"))
    assert await store.ack(EventID("$m")) == EventID("$ack")
    await store.set_ack(EventID("$m"), None)
    assert await store.ack(EventID("$m")) is None
