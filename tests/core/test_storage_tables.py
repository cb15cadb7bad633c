"""Core tables per instance, described migrations, and databases newer than the code."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from botkit import Plugin, PluginLoadError, SchemaTooNew
from botkit.storage import Storage, create_engine, migrate
from botkit.tables import Migration, Tables, declared_tables
from botkit.testing.databases import drop_namespace, schema_drift
from botkit.testing.harness import plugin_harness

HELLO = Path(__file__).parent / "plugins" / "hello"


async def create_votes(conn: AsyncConnection, tables: VoteTables) -> None:
    await tables.create(conn, tables.votes)


async def index_by_count(conn: AsyncConnection, tables: VoteTables) -> None:
    await tables.create(conn, tables.tally)


class VoteTables(Tables):
    metadata = MetaData()
    votes = Table(
        "votes",
        metadata,
        Column("user_id", String(255), primary_key=True),
        Column("count", BigInteger, nullable=False),
        Index("votes_by_count", "count"),
    )
    tally = Table("tally", metadata, Column("day", String(10), primary_key=True))
    migrations = (
        Migration("Votes by user", create_votes),
        Migration("A tally per day", index_by_count),
    )


class FirstRelease(Tables):
    """The same tables as the first release had them: one migration."""

    metadata = VoteTables.metadata
    votes = VoteTables.votes
    migrations = VoteTables.migrations[:1]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url)
    yield eng
    await eng.dispose()


@pytest.fixture
async def two(engine: AsyncEngine) -> AsyncIterator[tuple[Storage, Storage]]:
    tag = uuid.uuid4().hex[:8]
    a, b = Storage(engine, f"karma-{tag}"), Storage(engine, f"karma2-{tag}")
    try:
        yield a, b
    finally:
        await drop_namespace(a)
        await drop_namespace(b)


async def test_two_instances_of_one_plugin_have_their_own_tables(
    two: tuple[Storage, Storage],
) -> None:
    a, b = two
    # Both create their index too: PostgreSQL would refuse a second index of one name.
    assert await migrate(a, VoteTables) == 2
    assert await migrate(b, VoteTables) == 2
    ta, tb = a.bind(VoteTables), b.bind(VoteTables)
    assert a.bind(VoteTables) is ta
    assert ta.votes is not tb.votes
    assert VoteTables.votes.name == "votes"  # the declaration stays unbound
    async with a.begin() as conn:
        await conn.execute(insert(ta.votes).values(user_id="@bob:x", count=2))
    async with b.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(tb.votes))).scalar() == 0
    async with a.connect() as conn:
        row = (await conn.execute(select(ta.votes))).one()
    assert tuple(row) == ("@bob:x", 2)


async def test_each_migration_is_logged_with_its_description(
    two: tuple[Storage, Storage], caplog: pytest.LogCaptureFixture
) -> None:
    a, _ = two
    with caplog.at_level(logging.INFO, logger="botkit.storage"):
        await migrate(a, VoteTables, upto=1)
        await migrate(a, VoteTables)
    assert [r.getMessage() for r in caplog.records] == [
        f"{a.namespace}: schema version 1: Votes by user",
        f"{a.namespace}: schema version 2: A tally per day",
    ]


async def test_a_database_newer_than_the_code_is_refused(two: tuple[Storage, Storage]) -> None:
    a, _ = two
    await migrate(a, VoteTables)
    with pytest.raises(SchemaTooNew) as refused:
        await migrate(a, FirstRelease)
    message = str(refused.value)
    assert f"schema version 2 of {a.namespace!r}" in message
    assert "up to 1 only" in message
    assert "restore a backup" in message
    # Refused before anything ran: the newer code still finds its version.
    assert await migrate(a, VoteTables) == 2


async def test_raw_steps_are_refused_too_when_the_database_is_newer(
    two: tuple[Storage, Storage],
) -> None:
    a, _ = two

    async def noop(conn: AsyncConnection, storage: Storage) -> None:
        """Nothing at all."""

    assert await migrate(a, [noop, noop]) == 2
    with pytest.raises(SchemaTooNew, match="up to 1 only"):
        await migrate(a, [noop])


async def test_an_instance_on_a_newer_database_does_not_start(
    engine: AsyncEngine, database_url: str
) -> None:
    instance = f"hello_{uuid.uuid4().hex[:8]}"
    try:
        async with plugin_harness(HELLO, instance=instance, database_url=database_url) as h:
            assert "greeting number 1" in (await h.command("!hello Ann"))[0].content["body"]
            plugin = h.instance.plugin
            assert plugin is not None
            assert await schema_drift(plugin.storage, type(plugin.tables)) == []
        async with engine.begin() as conn:  # what a newer release of hello would leave
            await conn.execute(
                text("UPDATE botkit_schema_versions SET version = 2 WHERE namespace = :ns"),
                {"ns": instance},
            )
        with pytest.raises(PluginLoadError) as refused:
            async with plugin_harness(HELLO, instance=instance, database_url=database_url):
                pass
        assert f"instance {instance!r} failed to start" in str(refused.value)
        assert f"schema version 2 of {instance!r}" in str(refused.value)
        assert "up to 1 only" in str(refused.value)
    finally:
        await drop_namespace(Storage(engine, instance))


class Karma(Plugin):
    tables: VoteTables


class Plain(Plugin):
    pass


class Mistaken(Plugin):
    tables: int  # type: ignore[assignment]


def test_the_host_finds_the_tables_a_plugin_declares() -> None:
    assert declared_tables(Karma) is VoteTables
    assert declared_tables(Plain) is Tables
    with pytest.raises(TypeError, match="must be annotated with a Tables subclass"):
        declared_tables(Mistaken)


def test_declarations_that_cannot_be_bound_fail_when_defined() -> None:
    with pytest.raises(TypeError, match="declare `metadata = MetaData\\(\\)`"):

        class NoMetadata(Tables):
            votes = Table("votes", MetaData(), Column("id", Integer, primary_key=True))

    with pytest.raises(TypeError, match="foreign key"):

        class Linked(Tables):
            metadata = MetaData()
            users = Table("users", metadata, Column("id", Integer, primary_key=True))
            votes = Table("votes", metadata, Column("user", ForeignKey("users.id")))
