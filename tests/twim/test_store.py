"""The TWIM tables on SQLite (and PostgreSQL when BOTKIT_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date

import pytest
from mautrix.types import EventID, RoomID
from sqlalchemy import text

from botkit.storage import migrate
from botkit.testing.databases import schema_drift, scratch_storage
from plugins.twim.store import PublishedWeek, TwimStore, TwimTables
from tests.twim.stored import ALICE, EDITOR, ROOM, Room


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[TwimStore]:
    async with scratch_storage(database_url, "twim_test", TwimTables) as storage:
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
    cutoff = await store.receive(old)

    rows = await store.week_rows([ROOM], cutoff)

    assert [m.event_id for m in rows.messages] == [new, edit]
    assert {r.event_id for r in rows.reactions} == {kept, undone}
    assert rows.redacted == {undone}
    assert [r.event_id for r in await store.reactions_to(new)] == [kept]
    empty = await store.week_rows([RoomID("!other:example.org")], 0)
    assert (empty.messages, empty.reactions) == ([], [])


async def test_weeks_live_videos_and_acknowledgements(store: TwimStore) -> None:
    assert await store.last_week() is None
    first = PublishedWeek(EventID("$c1"), date(2024, 5, 3), 1000, "/out/a.md", 10)
    second = PublishedWeek(EventID("$c2"), date(2024, 5, 10), 2000, "/out/b.md", 20)
    await store.add_week(second)
    await store.add_week(first)
    await store.add_week(first)
    assert await store.last_week() == second
    assert await store.week(day=date(2024, 5, 3)) == first
    assert await store.week(command_id=EventID("$c2")) == second

    cutoff = await store.receive(EventID("$c0"))
    await store.set_live(EventID("$l1"), 1500, "aaaaaaaaaaa")
    await store.set_live(EventID("$l2"), 2500, "bbbbbbbbbbb")
    assert await store.live(cutoff) == "bbbbbbbbbbb"
    assert await store.live(cutoff, upto=await store.receive(EventID("$l1"))) == "aaaaaaaaaaa"
    await store.set_live(EventID("$l3"), 2600, None)
    assert await store.live(cutoff) is None
    assert await store.live(await store.receive(EventID("$l3"))) is None

    await store.set_ack(EventID("$m"), EventID("$ack"))
    await store.set_ack(EventID("$m"), EventID("$ack"))
    assert await store.ack(EventID("$m")) == EventID("$ack")
    await store.set_ack(EventID("$m"), None)
    assert await store.ack(EventID("$m")) is None


async def test_a_removed_week_gives_the_last_week_back_to_the_one_before(
    store: TwimStore,
) -> None:
    first = PublishedWeek(EventID("$c1"), date(2024, 5, 3), 1000, "/out/a.md", 10)
    second = PublishedWeek(EventID("$c2"), date(2024, 5, 10), 2000, "/out/b.md", 20)
    await store.add_week(first)
    await store.add_week(second)

    await store.remove_week(second)

    assert await store.last_week() == first
    assert await store.week(day=date(2024, 5, 10)) is None
    await store.add_week(replace(second, command_id=EventID("$c3"), cutoff_seq=30))
    assert await store.last_week() == replace(second, command_id=EventID("$c3"), cutoff_seq=30)


async def test_a_week_is_cut_by_the_order_of_arrival_whatever_the_timestamps(
    store: TwimStore,
) -> None:
    room = Room()
    ahead = room.say(ALICE, "stamped by a server whose clock is ten minutes fast")
    behind = room.say(ALICE, "stamped by a server whose clock is ten minutes slow")
    later = room.say(ALICE, "received after the publish command")
    messages = {m.event_id: m for m in room.messages}
    messages[ahead] = replace(messages[ahead], ts=10**9 + 600_000)
    messages[behind] = replace(messages[behind], ts=10**9 - 600_000)

    first = await store.add_message(messages[ahead])
    command = await store.receive(EventID("$publish"))
    second = await store.add_message(messages[behind])
    third = await store.add_message(messages[later])

    assert first < command < second < third
    assert await store.add_message(messages[ahead]) == first
    assert await store.receive(EventID("$publish")) == command
    published = await store.week_rows([ROOM], 0, upto=command)
    assert [m.event_id for m in published.messages] == [ahead]
    following = await store.week_rows([ROOM], command)
    assert [m.event_id for m in following.messages] == [behind, later]
    assert [m.seq for m in following.messages] == [second, third]


async def test_the_migration_numbers_stored_events_by_their_timestamps(database_url: str) -> None:
    async with scratch_storage(database_url, "twim_test", TwimTables, upto=1) as storage:
        t = storage.table
        async with storage.begin() as conn:
            for event_id, ts in (("$new", 3000), ("$old", 1000), ("$tie", 2000)):
                await conn.execute(
                    text(
                        f"INSERT INTO {t('messages')} (event_id, room_id, sender, sender_name,"
                        " ts, msgtype, body) VALUES (:e, :r, :s, 'Alice', :ts, 'm.text', 'hi')"
                    ),
                    {"e": event_id, "r": ROOM, "s": ALICE, "ts": ts},
                )
            await conn.execute(
                text(
                    f"INSERT INTO {t('weeks')} (command_id, post_date, cutoff_ts, path)"
                    " VALUES ('$cmd', '2024-05-03', 2000, '/out/a.md')"
                )
            )
        assert await migrate(storage, TwimTables) == 5
        assert await schema_drift(storage, TwimTables) == []
        store = TwimStore(storage)

        last = await store.last_week()
        assert last is not None and last.cutoff_seq == 3
        assert [m.event_id for m in (await store.week_rows([ROOM], last.cutoff_seq)).messages] == [
            "$new"
        ]
        assert await store.receive(EventID("$next")) == 5


async def test_the_migrations_build_the_tables_the_queries_use(store: TwimStore) -> None:
    assert await schema_drift(store.storage, TwimTables) == []
