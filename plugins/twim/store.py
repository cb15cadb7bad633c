"""The plugin's tables and the queries on them.

Every write is keyed by an event id and ignores a second write of the same key: a
handler that runs again for an event after a crash leaves the tables as they were.
Nothing is updated in place except the acknowledgement of an entry, which is the bot's
own doing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from mautrix.types import EventID, RoomID
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from botkit import Storage

from .rows import MessageRow, ReactionRow

__all__ = ["MIGRATIONS", "PublishedWeek", "TwimStore", "WeekRows"]

_ID = "VARCHAR(255)"


async def _create_tables(conn: AsyncConnection, storage: Storage) -> None:
    """Schema version 1."""
    t = storage.table
    statements = [
        f"""CREATE TABLE {t("messages")} (
            event_id {_ID} PRIMARY KEY, room_id {_ID} NOT NULL, sender {_ID} NOT NULL,
            sender_name TEXT NOT NULL, ts BIGINT NOT NULL, msgtype VARCHAR(64) NOT NULL,
            body TEXT NOT NULL, formatted_body TEXT, format VARCHAR(64), media_url TEXT,
            filename TEXT, mimetype VARCHAR(255), reply_to {_ID}, replaces {_ID})""",
        f"CREATE INDEX {t('messages_room_ts')} ON {t('messages')} (room_id, ts)",
        f"""CREATE TABLE {t("reactions")} (
            event_id {_ID} PRIMARY KEY, room_id {_ID} NOT NULL, target {_ID} NOT NULL,
            sender {_ID} NOT NULL, reaction_key TEXT NOT NULL, ts BIGINT NOT NULL)""",
        f"CREATE INDEX {t('reactions_target')} ON {t('reactions')} (target)",
        # One row per redacted event, whichever event redacted it.
        f"""CREATE TABLE {t("redactions")} (
            event_id {_ID} PRIMARY KEY, redaction_id {_ID} NOT NULL, ts BIGINT NOT NULL)""",
        f"""CREATE TABLE {t("weeks")} (
            command_id {_ID} PRIMARY KEY, post_date VARCHAR(10) NOT NULL UNIQUE,
            cutoff_ts BIGINT NOT NULL, path TEXT NOT NULL)""",
        f"""CREATE TABLE {t("lives")} (
            event_id {_ID} PRIMARY KEY, ts BIGINT NOT NULL, video VARCHAR(64))""",
        f"CREATE TABLE {t('acks')} (target {_ID} PRIMARY KEY, ack_id {_ID} NOT NULL)",
    ]
    for statement in statements:
        await conn.execute(text(statement))


MIGRATIONS = (_create_tables,)
"""The plugin's schema steps, oldest first."""

_MESSAGE_COLUMNS = (
    "event_id, room_id, sender, sender_name, ts, msgtype, body, formatted_body, format,"
    " media_url, filename, mimetype, reply_to, replaces"
)
_REACTION_COLUMNS = "event_id, room_id, target, sender, reaction_key, ts"


@dataclass(frozen=True)
class WeekRows:
    """What the current week is derived from.

    ``messages`` are the originals and edits posted in the TWIM rooms since the last
    post, ``reactions`` those to these messages, ``redacted`` the ids among both that
    were redacted.
    """

    messages: Sequence[MessageRow]
    reactions: Sequence[ReactionRow]
    redacted: frozenset[str]


@dataclass(frozen=True)
class PublishedWeek:
    """A post that was written: its date, the command that wrote it, the file."""

    command_id: EventID
    post_date: date
    cutoff_ts: int
    path: str


class TwimStore:
    """Queries on one instance's tables."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._t = storage.table

    async def _run(self, sql: str, params: dict[str, Any] | None = None) -> None:
        async with self.storage.begin() as conn:
            await conn.execute(text(sql), params or {})

    async def _all(self, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
        async with self.storage.begin() as conn:
            return list(await conn.execute(text(sql), params or {}))

    # -- what happened in the room ------------------------------------------------

    async def add_message(self, row: MessageRow) -> None:
        """Keep a message or an edit (again: nothing changes)."""
        names = _MESSAGE_COLUMNS.replace(" ", "").split(",")
        values = ", ".join(f":{name}" for name in names)
        await self._run(
            f"INSERT INTO {self._t('messages')} ({_MESSAGE_COLUMNS}) VALUES ({values})"
            " ON CONFLICT (event_id) DO NOTHING",
            asdict(row),
        )

    async def add_reaction(self, row: ReactionRow) -> None:
        """Keep a reaction (again: nothing changes)."""
        await self._run(
            f"INSERT INTO {self._t('reactions')} ({_REACTION_COLUMNS})"
            " VALUES (:event_id, :room_id, :target, :sender, :key, :ts)"
            " ON CONFLICT (event_id) DO NOTHING",
            asdict(row),
        )

    async def add_redaction(self, redacted: EventID, redaction: EventID, ts: int) -> None:
        """Remember that ``redacted`` is gone."""
        await self._run(
            f"INSERT INTO {self._t('redactions')} (event_id, redaction_id, ts)"
            " VALUES (:e, :r, :ts) ON CONFLICT (event_id) DO NOTHING",
            {"e": redacted, "r": redaction, "ts": ts},
        )

    async def message(self, event_id: EventID) -> MessageRow | None:
        """A stored message or edit."""
        rows = await self._all(
            f"SELECT {_MESSAGE_COLUMNS} FROM {self._t('messages')} WHERE event_id = :e",
            {"e": event_id},
        )
        return _message(rows[0]) if rows else None

    async def reaction(self, event_id: EventID) -> ReactionRow | None:
        """A stored reaction."""
        rows = await self._all(
            f"SELECT {_REACTION_COLUMNS} FROM {self._t('reactions')} WHERE event_id = :e",
            {"e": event_id},
        )
        return _reaction(rows[0]) if rows else None

    async def reactions_to(self, target: EventID) -> list[ReactionRow]:
        """The reactions to ``target`` that were not redacted, oldest first."""
        rows = await self._all(
            f"SELECT {_REACTION_COLUMNS} FROM {self._t('reactions')} WHERE target = :t"
            f" AND event_id NOT IN (SELECT event_id FROM {self._t('redactions')})"
            " ORDER BY ts, event_id",
            {"t": target},
        )
        return [_reaction(row) for row in rows]

    async def is_redacted(self, event_id: EventID) -> bool:
        """Whether ``event_id`` was redacted."""
        rows = await self._all(
            f"SELECT 1 FROM {self._t('redactions')} WHERE event_id = :e", {"e": event_id}
        )
        return bool(rows)

    async def week_rows(self, rooms: Iterable[RoomID], cutoff_ts: int) -> WeekRows:
        """Everything posted in ``rooms`` after ``cutoff_ts`` (ms), with its reactions."""
        rooms = sorted(rooms)
        if not rooms:
            return WeekRows((), (), frozenset())
        messages_t, reactions_t = self._t("messages"), self._t("reactions")
        recent = f"SELECT event_id FROM {messages_t} WHERE room_id IN :rooms AND ts > :cutoff"
        params = {"rooms": rooms, "cutoff": cutoff_ts}
        async with self.storage.begin() as conn:
            messages = await conn.execute(
                text(
                    f"SELECT {_MESSAGE_COLUMNS} FROM {messages_t}"
                    " WHERE room_id IN :rooms AND ts > :cutoff ORDER BY ts, event_id"
                ).bindparams(bindparam("rooms", expanding=True)),
                params,
            )
            reactions = await conn.execute(
                text(
                    f"SELECT {_REACTION_COLUMNS} FROM {reactions_t} WHERE target IN ({recent})"
                    " ORDER BY ts, event_id"
                ).bindparams(bindparam("rooms", expanding=True)),
                params,
            )
            redacted = await conn.execute(
                text(
                    f"SELECT event_id FROM {self._t('redactions')} WHERE event_id IN ({recent})"
                    f" OR event_id IN (SELECT event_id FROM {reactions_t}"
                    f" WHERE target IN ({recent}))"
                ).bindparams(bindparam("rooms", expanding=True)),
                params,
            )
            return WeekRows(
                [_message(row) for row in messages],
                [_reaction(row) for row in reactions],
                frozenset(str(row[0]) for row in redacted),
            )

    # -- weeks, Matrix Live, acknowledgements ---------------------------------------

    async def last_week(self) -> PublishedWeek | None:
        """The most recent post written, which ended the previous week."""
        rows = await self._all(
            f"SELECT command_id, post_date, cutoff_ts, path FROM {self._t('weeks')}"
            " ORDER BY cutoff_ts DESC, post_date DESC LIMIT 1"
        )
        return _week(rows[0]) if rows else None

    async def week(
        self, *, command_id: EventID | None = None, day: date | None = None
    ) -> PublishedWeek | None:
        """The post written by the command ``command_id``, or the one dated ``day``."""
        column, value = ("command_id", command_id) if command_id else ("post_date", str(day))
        rows = await self._all(
            f"SELECT command_id, post_date, cutoff_ts, path FROM {self._t('weeks')}"
            f" WHERE {column} = :v",
            {"v": value},
        )
        return _week(rows[0]) if rows else None

    async def add_week(self, week: PublishedWeek) -> None:
        """Record a written post; the week after it starts at its ``cutoff_ts``."""
        await self._run(
            f"INSERT INTO {self._t('weeks')} (command_id, post_date, cutoff_ts, path)"
            " VALUES (:c, :d, :ts, :p) ON CONFLICT (command_id) DO NOTHING",
            {
                "c": week.command_id,
                "d": week.post_date.isoformat(),
                "ts": week.cutoff_ts,
                "p": week.path,
            },
        )

    async def set_live(self, event_id: EventID, ts: int, video: str | None) -> None:
        """Record the Matrix Live video an editor set (None: no video)."""
        await self._run(
            f"INSERT INTO {self._t('lives')} (event_id, ts, video) VALUES (:e, :ts, :v)"
            " ON CONFLICT (event_id) DO NOTHING",
            {"e": event_id, "ts": ts, "v": video},
        )

    async def live(self, cutoff_ts: int) -> str | None:
        """The video set last since ``cutoff_ts``."""
        rows = await self._all(
            f"SELECT video FROM {self._t('lives')} WHERE ts > :c"
            " ORDER BY ts DESC, event_id DESC LIMIT 1",
            {"c": cutoff_ts},
        )
        return str(rows[0][0]) if rows and rows[0][0] else None

    async def ack(self, target: EventID) -> EventID | None:
        """The bot's acknowledgement of ``target``'s inclusion, if it sent one."""
        rows = await self._all(
            f"SELECT ack_id FROM {self._t('acks')} WHERE target = :t", {"t": target}
        )
        return EventID(rows[0][0]) if rows else None

    async def set_ack(self, target: EventID, ack_id: EventID | None) -> None:
        """Record (or, with None, forget) the acknowledgement of ``target``."""
        async with self.storage.begin() as conn:
            await conn.execute(
                text(f"DELETE FROM {self._t('acks')} WHERE target = :t"), {"t": target}
            )
            if ack_id is not None:
                await conn.execute(
                    text(f"INSERT INTO {self._t('acks')} (target, ack_id) VALUES (:t, :a)"),
                    {"t": target, "a": ack_id},
                )


def _message(row: Any) -> MessageRow:
    (
        event_id,
        room_id,
        sender,
        name,
        ts,
        msgtype,
        body,
        html,
        fmt,
        url,
        filename,
        mime,
        reply_to,
        replaces,
    ) = row
    return MessageRow(
        event_id=event_id,
        room_id=room_id,
        sender=sender,
        sender_name=name,
        ts=int(ts),
        msgtype=msgtype,
        body=body,
        formatted_body=html,
        format=fmt,
        media_url=url,
        filename=filename,
        mimetype=mime,
        reply_to=reply_to,
        replaces=replaces,
    )


def _reaction(row: Any) -> ReactionRow:
    event_id, room_id, target, sender, key, ts = row
    return ReactionRow(
        event_id=event_id, room_id=room_id, target=target, sender=sender, key=key, ts=int(ts)
    )


def _week(row: Any) -> PublishedWeek:
    command_id, post_date, cutoff_ts, path = row
    return PublishedWeek(command_id, date.fromisoformat(post_date), int(cutoff_ts), path)
