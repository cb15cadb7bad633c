"""The plugin's tables, as versioned migrations (oldest first).

Version 2 adds the order in which the bot received events: each stored event gets the
next number of one counter, so that a week is cut by what the bot had received when
``!twim publish`` came, whatever the senders' servers wrote into ``origin_server_ts``.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from botkit import Migration, Storage

__all__ = ["ID", "MIGRATIONS", "RECEIVED_COUNTER"]

ID = "VARCHAR(255)"
RECEIVED_COUNTER = "received"
"""The name of the counter row that numbers received events."""


async def _create_tables(conn: AsyncConnection, storage: Storage) -> None:
    """Schema version 1."""
    t = storage.table
    statements = [
        f"""CREATE TABLE {t("messages")} (
            event_id {ID} PRIMARY KEY, room_id {ID} NOT NULL, sender {ID} NOT NULL,
            sender_name TEXT NOT NULL, ts BIGINT NOT NULL, msgtype VARCHAR(64) NOT NULL,
            body TEXT NOT NULL, formatted_body TEXT, format VARCHAR(64), media_url TEXT,
            filename TEXT, mimetype VARCHAR(255), reply_to {ID}, replaces {ID})""",
        f"CREATE INDEX {t('messages_room_ts')} ON {t('messages')} (room_id, ts)",
        f"""CREATE TABLE {t("reactions")} (
            event_id {ID} PRIMARY KEY, room_id {ID} NOT NULL, target {ID} NOT NULL,
            sender {ID} NOT NULL, reaction_key TEXT NOT NULL, ts BIGINT NOT NULL)""",
        f"CREATE INDEX {t('reactions_target')} ON {t('reactions')} (target)",
        # One row per redacted event, whichever event redacted it.
        f"""CREATE TABLE {t("redactions")} (
            event_id {ID} PRIMARY KEY, redaction_id {ID} NOT NULL, ts BIGINT NOT NULL)""",
        f"""CREATE TABLE {t("weeks")} (
            command_id {ID} PRIMARY KEY, post_date VARCHAR(10) NOT NULL UNIQUE,
            cutoff_ts BIGINT NOT NULL, path TEXT NOT NULL)""",
        f"""CREATE TABLE {t("lives")} (
            event_id {ID} PRIMARY KEY, ts BIGINT NOT NULL, video VARCHAR(64))""",
        f"CREATE TABLE {t('acks')} (target {ID} PRIMARY KEY, ack_id {ID} NOT NULL)",
    ]
    for statement in statements:
        await conn.execute(text(statement))


async def _receive_order(conn: AsyncConnection, storage: Storage) -> None:
    """Schema version 2: ``received`` numbers every stored event in the order it came.

    The counter is a row that each new number updates: on PostgreSQL the row lock makes
    concurrent lanes take numbers in the order they commit, so a publish that read up
    to number *n* cannot miss a smaller number committed later. Events stored before
    this version are numbered by their timestamps, the best order there was; a week's
    command comes after the events of the same millisecond, as ``ts <= cutoff`` had it.
    """
    t = storage.table
    await conn.execute(
        text(f"CREATE TABLE {t('received')} (event_id {ID} PRIMARY KEY, seq BIGINT NOT NULL)")
    )
    await conn.execute(text(f"CREATE UNIQUE INDEX {t('received_seq')} ON {t('received')} (seq)"))
    await conn.execute(
        text(f"CREATE TABLE {t('counters')} (name VARCHAR(32) PRIMARY KEY, value BIGINT NOT NULL)")
    )
    known = (
        f"SELECT event_id, ts, 0 AS kind FROM {t('messages')}"
        f" UNION SELECT event_id, ts, 0 AS kind FROM {t('reactions')}"
        f" UNION SELECT redaction_id, ts, 0 AS kind FROM {t('redactions')}"
        f" UNION SELECT event_id, ts, 0 AS kind FROM {t('lives')}"
        f" UNION SELECT command_id, cutoff_ts, 1 AS kind FROM {t('weeks')}"
    )
    await conn.execute(
        text(
            f"INSERT INTO {t('received')} (event_id, seq)"
            " SELECT event_id, ROW_NUMBER() OVER (ORDER BY MIN(ts), MIN(kind), event_id)"
            f" FROM ({known}) known GROUP BY event_id"
        )
    )
    await conn.execute(
        text(
            f"INSERT INTO {t('counters')} (name, value)"
            f" SELECT :name, COALESCE(MAX(seq), 0) FROM {t('received')}"
        ),
        {"name": RECEIVED_COUNTER},
    )
    await conn.execute(
        text(f"ALTER TABLE {t('weeks')} ADD COLUMN cutoff_seq BIGINT NOT NULL DEFAULT 0")
    )
    await conn.execute(
        text(
            f"UPDATE {t('weeks')} SET cutoff_seq = (SELECT seq FROM {t('received')} r"
            f" WHERE r.event_id = {t('weeks')}.command_id)"
        )
    )


async def _room_upgrades(conn: AsyncConnection, storage: Storage) -> None:
    """Schema version 3: the room upgrades the settings follow (see :mod:`.upgrades`)."""
    await conn.execute(
        text(
            f"CREATE TABLE {storage.table('room_upgrades')}"
            f" (old_room {ID} PRIMARY KEY, new_room {ID} NOT NULL)"
        )
    )


async def _week_values(conn: AsyncConnection, storage: Storage) -> None:
    """Schema version 4: the week's date, editor and Live title set by command."""
    await conn.execute(
        text(
            f"CREATE TABLE {storage.table('week_values')} (event_id {ID} PRIMARY KEY,"
            " kind VARCHAR(32) NOT NULL, value TEXT)"
        )
    )


MIGRATIONS: tuple[Migration, ...] = (
    _create_tables,
    _receive_order,
    _room_upgrades,
    _week_values,
)
"""The plugin's schema steps, oldest first."""
