"""The plugin's tables, as SQLAlchemy Core tables, and the migrations that built them.

Version 2 adds the order in which the bot received events: each stored event gets the
next number of one counter, so that a week is cut by what the bot had received when
``!twim publish`` came, whatever the senders' servers wrote into ``origin_server_ts``.
The migrations are history: they keep the SQL they were released with.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    literal,
    select,
    union,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from botkit.tables import Migration, Tables, ddl

__all__ = ["RECEIVED_COUNTER", "TwimTables"]

RECEIVED_COUNTER = "received"
"""The name of the counter row that numbers received events."""


def _id(name: str, *, primary_key: bool = False) -> Column[str]:
    """An event, room or user ID."""
    return Column(name, String(255), primary_key=primary_key, nullable=primary_key)


async def _create_tables(conn: AsyncConnection, tables: TwimTables) -> None:
    statements = [
        (
            tables.messages,
            """CREATE TABLE %(table)s (
            event_id VARCHAR(255) PRIMARY KEY, room_id VARCHAR(255) NOT NULL,
            sender VARCHAR(255) NOT NULL, sender_name TEXT NOT NULL, ts BIGINT NOT NULL,
            msgtype VARCHAR(64) NOT NULL, body TEXT NOT NULL, formatted_body TEXT,
            format VARCHAR(64), media_url TEXT, filename TEXT, mimetype VARCHAR(255),
            reply_to VARCHAR(255), replaces VARCHAR(255))""",
        ),
        (tables.messages, "CREATE INDEX %(table)s_room_ts ON %(table)s (room_id, ts)"),
        (
            tables.reactions,
            """CREATE TABLE %(table)s (
            event_id VARCHAR(255) PRIMARY KEY, room_id VARCHAR(255) NOT NULL,
            target VARCHAR(255) NOT NULL, sender VARCHAR(255) NOT NULL,
            reaction_key TEXT NOT NULL, ts BIGINT NOT NULL)""",
        ),
        (tables.reactions, "CREATE INDEX %(table)s_target ON %(table)s (target)"),
        (
            tables.redactions,
            """CREATE TABLE %(table)s (event_id VARCHAR(255) PRIMARY KEY,
            redaction_id VARCHAR(255) NOT NULL, ts BIGINT NOT NULL)""",
        ),
        (
            tables.weeks,
            """CREATE TABLE %(table)s (
            command_id VARCHAR(255) PRIMARY KEY, post_date VARCHAR(10) NOT NULL UNIQUE,
            cutoff_ts BIGINT NOT NULL, path TEXT NOT NULL)""",
        ),
        (
            tables.lives,
            """CREATE TABLE %(table)s (
            event_id VARCHAR(255) PRIMARY KEY, ts BIGINT NOT NULL, video VARCHAR(64))""",
        ),
        (
            tables.acks,
            "CREATE TABLE %(table)s"
            " (target VARCHAR(255) PRIMARY KEY, ack_id VARCHAR(255) NOT NULL)",
        ),
    ]
    for table, statement in statements:
        await conn.execute(ddl(statement, table))


async def _receive_order(conn: AsyncConnection, tables: TwimTables) -> None:
    """``received`` numbers every stored event in the order it came.

    The counter is a row that each new number updates: on PostgreSQL the row lock makes
    concurrent lanes take numbers in the order they commit, so a publish that read up
    to number *n* cannot miss a smaller number committed later. Events stored before
    this version are numbered by their timestamps, the best order there was; a week's
    command comes after the events of the same millisecond, as ``ts <= cutoff`` had it.
    """
    received, counters, weeks = tables.received, tables.counters, tables.weeks
    await conn.execute(
        ddl(
            "CREATE TABLE %(table)s (event_id VARCHAR(255) PRIMARY KEY, seq BIGINT NOT NULL)",
            received,
        )
    )
    await conn.execute(ddl("CREATE UNIQUE INDEX %(table)s_seq ON %(table)s (seq)", received))
    await conn.execute(
        ddl(
            "CREATE TABLE %(table)s (name VARCHAR(32) PRIMARY KEY, value BIGINT NOT NULL)",
            counters,
        )
    )
    events, reports = literal(0).label("kind"), literal(1).label("kind")
    m, x, d, li = tables.messages, tables.reactions, tables.redactions, tables.lives
    known = union(
        select(m.c.event_id, m.c.ts, events),
        select(x.c.event_id, x.c.ts, events),
        select(d.c.redaction_id, d.c.ts, events),
        select(li.c.event_id, li.c.ts, events),
        select(weeks.c.command_id, weeks.c.cutoff_ts, reports),
    ).subquery("known")
    event_id, ts, kind = known.c
    order = func.row_number().over(order_by=(func.min(ts), func.min(kind), event_id))
    await conn.execute(
        insert(received).from_select(
            ["event_id", "seq"], select(event_id, order).group_by(event_id)
        )
    )
    await conn.execute(
        insert(counters).from_select(
            ["name", "value"],
            select(literal(RECEIVED_COUNTER), func.coalesce(func.max(received.c.seq), 0)),
        )
    )
    await conn.execute(
        ddl("ALTER TABLE %(table)s ADD COLUMN cutoff_seq BIGINT NOT NULL DEFAULT 0", weeks)
    )
    command_seq = select(received.c.seq).where(received.c.event_id == weeks.c.command_id)
    await conn.execute(update(weeks).values(cutoff_seq=command_seq.scalar_subquery()))


async def _room_upgrades(conn: AsyncConnection, tables: TwimTables) -> None:
    await conn.execute(
        ddl(
            "CREATE TABLE %(table)s"
            " (old_room VARCHAR(255) PRIMARY KEY, new_room VARCHAR(255) NOT NULL)",
            tables.room_upgrades,
        )
    )


async def _week_values(conn: AsyncConnection, tables: TwimTables) -> None:
    await conn.execute(
        ddl(
            "CREATE TABLE %(table)s (event_id VARCHAR(255) PRIMARY KEY,"
            " kind VARCHAR(32) NOT NULL, value TEXT)",
            tables.week_values,
        )
    )


async def _mentions(conn: AsyncConnection, tables: TwimTables) -> None:
    await conn.execute(ddl("ALTER TABLE %(table)s ADD COLUMN mentions TEXT", tables.messages))


class TwimTables(Tables):
    """What the plugin keeps: the rooms' events as they came, and its own doings."""

    metadata = MetaData()
    messages = Table(
        "messages",
        metadata,
        _id("event_id", primary_key=True),
        _id("room_id"),
        _id("sender"),
        Column("sender_name", Text, nullable=False),
        Column("ts", BigInteger, nullable=False),
        Column("msgtype", String(64), nullable=False),
        Column("body", Text, nullable=False),
        Column("formatted_body", Text),
        Column("format", String(64)),
        Column("media_url", Text),
        Column("filename", Text),
        Column("mimetype", String(255)),
        Column("reply_to", String(255)),
        Column("replaces", String(255)),
        # ``m.mentions``' user IDs, one a line.
        Column("mentions", Text),
        Index("messages_room_ts", "room_id", "ts"),
    )
    reactions = Table(
        "reactions",
        metadata,
        _id("event_id", primary_key=True),
        _id("room_id"),
        _id("target"),
        _id("sender"),
        Column("reaction_key", Text, nullable=False),
        Column("ts", BigInteger, nullable=False),
        Index("reactions_target", "target"),
    )
    redactions = Table(
        "redactions",
        metadata,
        # One row per redacted event, whichever event redacted it.
        _id("event_id", primary_key=True),
        _id("redaction_id"),
        Column("ts", BigInteger, nullable=False),
    )
    weeks = Table(
        "weeks",
        metadata,
        _id("command_id", primary_key=True),
        Column("post_date", String(10), nullable=False, unique=True),
        Column("cutoff_ts", BigInteger, nullable=False),
        Column("path", Text, nullable=False),
        Column("cutoff_seq", BigInteger, nullable=False, server_default="0"),
    )
    lives = Table(
        "lives",
        metadata,
        _id("event_id", primary_key=True),
        Column("ts", BigInteger, nullable=False),
        Column("video", String(64)),
    )
    acks = Table("acks", metadata, _id("target", primary_key=True), _id("ack_id"))
    received = Table(
        "received",
        metadata,
        _id("event_id", primary_key=True),
        Column("seq", BigInteger, nullable=False),
        Index("received_seq", "seq", unique=True),
    )
    counters = Table(
        "counters",
        metadata,
        Column("name", String(32), primary_key=True),
        Column("value", BigInteger, nullable=False),
    )
    room_upgrades = Table(
        "room_upgrades", metadata, _id("old_room", primary_key=True), _id("new_room")
    )
    week_values = Table(
        "week_values",
        metadata,
        _id("event_id", primary_key=True),
        Column("kind", String(32), nullable=False),
        Column("value", Text),
    )
    migrations = (
        Migration("Messages, reactions, redactions, weeks, Matrix Live, acks", _create_tables),
        Migration("Events numbered in the order they were received", _receive_order),
        Migration("Room upgrades the settings follow", _room_upgrades),
        Migration("The week's date, editor and Live title set by command", _week_values),
        Migration("The users a message mentions (m.mentions)", _mentions),
    )
