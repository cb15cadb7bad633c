"""The plugin's tables and the queries on them.

Every write is keyed by an event id and ignores a second write of the same key: a
handler that runs again for an event after a crash leaves the tables as they were.
Nothing is updated in place except the acknowledgement of an entry, which is the bot's
own doing, and the counter that numbers events in the order they were received.
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
from .schema import MIGRATIONS, RECEIVED_COUNTER

__all__ = ["MIGRATIONS", "PublishedWeek", "TwimStore", "WeekRows"]

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
    were redacted, all in the order the bot received them.
    """

    messages: Sequence[MessageRow]
    reactions: Sequence[ReactionRow]
    redacted: frozenset[str]


@dataclass(frozen=True)
class PublishedWeek:
    """A post that was written: its date, the command that wrote it, the file.

    The week it ends holds the events received before the command: ``cutoff_seq`` is
    the command's place in that order; ``cutoff_ts`` its timestamp, for the record.
    """

    command_id: EventID
    post_date: date
    cutoff_ts: int
    path: str
    cutoff_seq: int = 0


class TwimStore:
    """Queries on one instance's tables."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._t = storage.table

    async def _all(self, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
        async with self.storage.begin() as conn:
            return list(await conn.execute(text(sql), params or {}))

    # -- the order of arrival ---------------------------------------------------------

    async def _receive(self, conn: AsyncConnection, event_id: str) -> int:
        """``event_id``'s number in the order of arrival, given now if it has none."""
        received = self._t("received")
        rows = await conn.execute(
            text(f"SELECT seq FROM {received} WHERE event_id = :e"), {"e": event_id}
        )
        seq = rows.scalar_one_or_none()
        if seq is not None:
            return int(seq)
        # Taking the number locks the counter row until this transaction commits (see
        # schema._receive_order), so numbers become visible in their order.
        counted = await conn.execute(
            text(
                f"UPDATE {self._t('counters')} SET value = value + 1 WHERE name = :n"
                " RETURNING value"
            ),
            {"n": RECEIVED_COUNTER},
        )
        seq = int(counted.scalar_one())
        await conn.execute(
            text(f"INSERT INTO {received} (event_id, seq) VALUES (:e, :s)"),
            {"e": event_id, "s": seq},
        )
        return seq

    async def receive(self, event_id: EventID) -> int:
        """The place of ``event_id`` in the order the bot received events in.

        The first call numbers it after everything stored before; later calls (a
        handler run again) give the same number.
        """
        async with self.storage.begin() as conn:
            return await self._receive(conn, event_id)

    # -- what happened in the room ------------------------------------------------

    async def add_message(self, row: MessageRow) -> int:
        """Keep a message or an edit (again: nothing changes); its number of arrival."""
        names = _MESSAGE_COLUMNS.replace(" ", "").split(",")
        values = ", ".join(f":{name}" for name in names)
        params = {name: value for name, value in asdict(row).items() if name in names}
        async with self.storage.begin() as conn:
            seq = await self._receive(conn, row.event_id)
            await conn.execute(
                text(
                    f"INSERT INTO {self._t('messages')} ({_MESSAGE_COLUMNS}) VALUES ({values})"
                    " ON CONFLICT (event_id) DO NOTHING"
                ),
                params,
            )
        return seq

    async def add_reaction(self, row: ReactionRow) -> int:
        """Keep a reaction (again: nothing changes); its number of arrival."""
        async with self.storage.begin() as conn:
            seq = await self._receive(conn, row.event_id)
            await conn.execute(
                text(
                    f"INSERT INTO {self._t('reactions')} ({_REACTION_COLUMNS})"
                    " VALUES (:event_id, :room_id, :target, :sender, :key, :ts)"
                    " ON CONFLICT (event_id) DO NOTHING"
                ),
                {k: v for k, v in asdict(row).items() if k != "seq"},
            )
        return seq

    async def add_redaction(self, redacted: EventID, redaction: EventID, ts: int) -> None:
        """Remember that ``redacted`` is gone."""
        async with self.storage.begin() as conn:
            await self._receive(conn, redaction)
            await conn.execute(
                text(
                    f"INSERT INTO {self._t('redactions')} (event_id, redaction_id, ts)"
                    " VALUES (:e, :r, :ts) ON CONFLICT (event_id) DO NOTHING"
                ),
                {"e": redacted, "r": redaction, "ts": ts},
            )

    def _messages_sql(self, where: str) -> str:
        return (
            f"SELECT {', '.join(f'm.{c}' for c in _MESSAGE_COLUMNS.replace(' ', '').split(','))},"
            f" COALESCE(r.seq, 0) FROM {self._t('messages')} m"
            f" LEFT JOIN {self._t('received')} r ON r.event_id = m.event_id WHERE {where}"
        )

    def _reactions_sql(self, where: str) -> str:
        columns = ", ".join(f"x.{c}" for c in _REACTION_COLUMNS.replace(" ", "").split(","))
        return (
            f"SELECT {columns}, COALESCE(r.seq, 0) FROM {self._t('reactions')} x"
            f" LEFT JOIN {self._t('received')} r ON r.event_id = x.event_id WHERE {where}"
        )

    async def message(self, event_id: EventID) -> MessageRow | None:
        """A stored message or edit."""
        rows = await self._all(self._messages_sql("m.event_id = :e"), {"e": event_id})
        return _message(rows[0]) if rows else None

    async def edits(self, original: EventID) -> list[MessageRow]:
        """The stored edits of ``original`` that were not redacted, in order of arrival."""
        rows = await self._all(
            self._messages_sql(
                f"m.replaces = :e AND m.event_id NOT IN (SELECT event_id FROM"
                f" {self._t('redactions')}) ORDER BY COALESCE(r.seq, 0), m.ts, m.event_id"
            ),
            {"e": original},
        )
        return [_message(row) for row in rows]

    async def reaction(self, event_id: EventID) -> ReactionRow | None:
        """A stored reaction."""
        rows = await self._all(self._reactions_sql("x.event_id = :e"), {"e": event_id})
        return _reaction(rows[0]) if rows else None

    async def reactions_to(self, target: EventID) -> list[ReactionRow]:
        """The reactions to ``target`` that were not redacted, in order of arrival."""
        rows = await self._all(
            self._reactions_sql(
                f"x.target = :t AND x.event_id NOT IN (SELECT event_id FROM"
                f" {self._t('redactions')}) ORDER BY COALESCE(r.seq, 0), x.ts, x.event_id"
            ),
            {"t": target},
        )
        return [_reaction(row) for row in rows]

    async def is_redacted(self, event_id: EventID) -> bool:
        """Whether ``event_id`` was redacted."""
        rows = await self._all(
            f"SELECT 1 FROM {self._t('redactions')} WHERE event_id = :e", {"e": event_id}
        )
        return bool(rows)

    async def week_rows(
        self, rooms: Iterable[RoomID], after: int, upto: int | None = None
    ) -> WeekRows:
        """What was received in ``rooms`` after number ``after`` (and up to ``upto``).

        Reactions and redactions count when they were received up to ``upto`` too.
        """
        rooms = sorted(rooms)
        if not rooms:
            return WeekRows((), (), frozenset())
        received = self._t("received")
        bound = "" if upto is None else " AND r.seq <= :upto"
        recent = (
            f"SELECT m.event_id FROM {self._t('messages')} m JOIN {received} r"
            f" ON r.event_id = m.event_id WHERE m.room_id IN :rooms AND r.seq > :after{bound}"
        )
        params = {"rooms": rooms, "after": after, "upto": upto}
        async with self.storage.begin() as conn:
            messages = await conn.execute(
                text(
                    self._messages_sql(f"m.event_id IN ({recent})")
                    + " ORDER BY COALESCE(r.seq, 0), m.ts, m.event_id"
                ).bindparams(bindparam("rooms", expanding=True)),
                params,
            )
            reactions = await conn.execute(
                text(
                    self._reactions_sql(f"x.target IN ({recent}){bound}")
                    + " ORDER BY COALESCE(r.seq, 0), x.ts, x.event_id"
                ).bindparams(bindparam("rooms", expanding=True)),
                params,
            )
            redacted = await conn.execute(
                text(
                    f"SELECT d.event_id FROM {self._t('redactions')} d JOIN {received} r"
                    f" ON r.event_id = d.redaction_id WHERE (d.event_id IN ({recent})"
                    f" OR d.event_id IN (SELECT event_id FROM {self._t('reactions')}"
                    f" WHERE target IN ({recent}))){bound}"
                ).bindparams(bindparam("rooms", expanding=True)),
                params,
            )
            return WeekRows(
                [_message(row) for row in messages],
                [_reaction(row) for row in reactions],
                frozenset(str(row[0]) for row in redacted),
            )

    # -- weeks, Matrix Live, acknowledgements ---------------------------------------

    _WEEK_COLUMNS = "command_id, post_date, cutoff_ts, path, cutoff_seq"

    async def last_week(self) -> PublishedWeek | None:
        """The most recent post written, which ended the previous week."""
        rows = await self._all(
            f"SELECT {self._WEEK_COLUMNS} FROM {self._t('weeks')}"
            " ORDER BY cutoff_seq DESC, post_date DESC LIMIT 1"
        )
        return _week(rows[0]) if rows else None

    async def week(
        self, *, command_id: EventID | None = None, day: date | None = None
    ) -> PublishedWeek | None:
        """The post written by the command ``command_id``, or the one dated ``day``."""
        column, value = ("command_id", command_id) if command_id else ("post_date", str(day))
        rows = await self._all(
            f"SELECT {self._WEEK_COLUMNS} FROM {self._t('weeks')} WHERE {column} = :v",
            {"v": value},
        )
        return _week(rows[0]) if rows else None

    async def add_week(self, week: PublishedWeek) -> None:
        """Record a written post; the week after it holds what came after ``cutoff_seq``."""
        async with self.storage.begin() as conn:
            await conn.execute(
                text(
                    f"INSERT INTO {self._t('weeks')} ({self._WEEK_COLUMNS})"
                    " VALUES (:c, :d, :ts, :p, :seq) ON CONFLICT (command_id) DO NOTHING"
                ),
                {
                    "c": week.command_id,
                    "d": week.post_date.isoformat(),
                    "ts": week.cutoff_ts,
                    "p": week.path,
                    "seq": week.cutoff_seq,
                },
            )

    async def remove_week(self, week: PublishedWeek) -> None:
        """Forget a written post: the week it ended runs on, its reports in the draft."""
        async with self.storage.begin() as conn:
            await conn.execute(
                text(f"DELETE FROM {self._t('weeks')} WHERE command_id = :c"),
                {"c": week.command_id},
            )

    async def set_live(self, event_id: EventID, ts: int, video: str | None) -> None:
        """Record the Matrix Live video an editor set (None: no video)."""
        async with self.storage.begin() as conn:
            await self._receive(conn, event_id)
            await conn.execute(
                text(
                    f"INSERT INTO {self._t('lives')} (event_id, ts, video) VALUES (:e, :ts, :v)"
                    " ON CONFLICT (event_id) DO NOTHING"
                ),
                {"e": event_id, "ts": ts, "v": video},
            )

    async def live(self, after: int, upto: int | None = None) -> str | None:
        """The video set last after number ``after`` (and up to ``upto``)."""
        bound = "" if upto is None else " AND r.seq <= :upto"
        rows = await self._all(
            f"SELECT l.video FROM {self._t('lives')} l JOIN {self._t('received')} r"
            f" ON r.event_id = l.event_id WHERE r.seq > :after{bound}"
            " ORDER BY r.seq DESC LIMIT 1",
            {"after": after, "upto": upto},
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
        seq,
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
        seq=int(seq),
    )


def _reaction(row: Any) -> ReactionRow:
    event_id, room_id, target, sender, key, ts, seq = row
    return ReactionRow(
        event_id=event_id,
        room_id=room_id,
        target=target,
        sender=sender,
        key=key,
        ts=int(ts),
        seq=int(seq),
    )


def _week(row: Any) -> PublishedWeek:
    command_id, post_date, cutoff_ts, path, cutoff_seq = row
    return PublishedWeek(
        command_id, date.fromisoformat(post_date), int(cutoff_ts), path, int(cutoff_seq)
    )
