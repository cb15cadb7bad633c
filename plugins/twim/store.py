"""The queries on the plugin's tables (declared in :mod:`.schema`).

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

from mautrix.types import EventID, RoomID, UserID
from sqlalchemy import ColumnElement, Row, Select, Table, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from botkit import Storage

from .rows import MessageRow, ReactionRow
from .schema import RECEIVED_COUNTER, TwimTables

__all__ = ["PublishedWeek", "TwimStore", "TwimTables", "WeekRows"]


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
        self.tables = storage.bind(TwimTables)

    async def _all(self, query: Select[Any]) -> list[Row[Any]]:
        async with self.storage.begin() as conn:
            return list(await conn.execute(query))

    # -- the order of arrival ---------------------------------------------------------

    async def _receive(self, conn: AsyncConnection, event_id: str) -> int:
        """``event_id``'s number in the order of arrival, given now if it has none."""
        received, counters = self.tables.received, self.tables.counters
        rows = await conn.execute(select(received.c.seq).where(received.c.event_id == event_id))
        seq = rows.scalar_one_or_none()
        if seq is not None:
            return int(seq)
        # Taking the number locks the counter row until this transaction commits (see
        # schema._receive_order), so numbers become visible in their order.
        counted = await conn.execute(
            update(counters)
            .where(counters.c.name == RECEIVED_COUNTER)
            .values(value=counters.c.value + 1)
            .returning(counters.c.value)
        )
        seq = int(counted.scalar_one())
        await conn.execute(received.insert().values(event_id=event_id, seq=seq))
        return seq

    async def receive(self, event_id: EventID) -> int:
        """The place of ``event_id`` in the order the bot received events in.

        The first call numbers it after everything stored before; later calls (a
        handler run again) give the same number.
        """
        async with self.storage.begin() as conn:
            return await self._receive(conn, event_id)

    async def _keep(self, event_id: str, table: Table, values: dict[str, Any]) -> int:
        """Number ``event_id`` and insert its row into ``table`` unless it is there."""
        async with self.storage.begin() as conn:
            seq = await self._receive(conn, event_id)
            await conn.execute(self.storage.insert(table).values(values).on_conflict_do_nothing())
        return seq

    # -- what happened in the room ------------------------------------------------

    async def add_message(self, row: MessageRow) -> int:
        """Keep a message or an edit (again: nothing changes); its number of arrival."""
        values = asdict(row)
        del values["seq"]
        values["mentions"] = "\n".join(row.mentions) or None
        return await self._keep(row.event_id, self.tables.messages, values)

    async def add_reaction(self, row: ReactionRow) -> int:
        """Keep a reaction (again: nothing changes); its number of arrival."""
        values = asdict(row)
        del values["seq"]
        values["reaction_key"] = values.pop("key")
        return await self._keep(row.event_id, self.tables.reactions, values)

    async def add_redaction(self, redacted: EventID, redaction: EventID, ts: int) -> None:
        """Remember that ``redacted`` is gone."""
        values = {"event_id": redacted, "redaction_id": redaction, "ts": ts}
        await self._keep(redaction, self.tables.redactions, values)

    def _messages(self, *where: ColumnElement[bool]) -> Select[Any]:
        """Messages as :class:`MessageRow` columns, in the order of arrival."""
        m, r = self.tables.messages, self.tables.received
        seq = func.coalesce(r.c.seq, 0)
        return (
            select(*m.c, seq.label("seq"))
            .select_from(m.outerjoin(r, r.c.event_id == m.c.event_id))
            .where(*where)
            .order_by(seq, m.c.ts, m.c.event_id)
        )

    def _reactions(self, *where: ColumnElement[bool]) -> Select[Any]:
        """Reactions as :class:`ReactionRow` columns, in the order of arrival."""
        x, r = self.tables.reactions, self.tables.received
        seq = func.coalesce(r.c.seq, 0)
        columns = [c.label("key") if c.name == "reaction_key" else c for c in x.c]
        return (
            select(*columns, seq.label("seq"))
            .select_from(x.outerjoin(r, r.c.event_id == x.c.event_id))
            .where(*where)
            .order_by(seq, x.c.ts, x.c.event_id)
        )

    def _not_redacted(self, event_id: ColumnElement[str]) -> ColumnElement[bool]:
        return event_id.not_in(select(self.tables.redactions.c.event_id))

    async def message(self, event_id: EventID) -> MessageRow | None:
        """A stored message or edit."""
        rows = await self._all(self._messages(self.tables.messages.c.event_id == event_id))
        return _message(rows[0]) if rows else None

    async def edits(self, original: EventID) -> list[MessageRow]:
        """The stored edits of ``original`` that were not redacted, in order of arrival."""
        m = self.tables.messages
        rows = await self._all(
            self._messages(m.c.replaces == original, self._not_redacted(m.c.event_id))
        )
        return [_message(row) for row in rows]

    async def reaction(self, event_id: EventID) -> ReactionRow | None:
        """A stored reaction."""
        rows = await self._all(self._reactions(self.tables.reactions.c.event_id == event_id))
        return ReactionRow(**rows[0]._mapping) if rows else None

    async def reactions_to(self, target: EventID) -> list[ReactionRow]:
        """The reactions to ``target`` that were not redacted, in order of arrival."""
        x = self.tables.reactions
        rows = await self._all(
            self._reactions(x.c.target == target, self._not_redacted(x.c.event_id))
        )
        return [ReactionRow(**row._mapping) for row in rows]

    async def is_redacted(self, event_id: EventID) -> bool:
        """Whether ``event_id`` was redacted."""
        d = self.tables.redactions
        return bool(await self._all(select(d.c.event_id).where(d.c.event_id == event_id)))

    async def week_rows(
        self, rooms: Iterable[RoomID], after: int, upto: int | None = None
    ) -> WeekRows:
        """What was received in ``rooms`` after number ``after`` (and up to ``upto``).

        Reactions and redactions count when they were received up to ``upto`` too.
        """
        rooms = sorted(rooms)
        if not rooms:
            return WeekRows((), (), frozenset())
        t = self.tables
        m, x, d, r = t.messages, t.reactions, t.redactions, t.received
        # The messages' own numbers, apart from the numbers the outer queries join.
        mr = r.alias("message_received")
        recent = (
            select(m.c.event_id)
            .join(mr, mr.c.event_id == m.c.event_id)
            .where(m.c.room_id.in_(rooms), mr.c.seq > after, *_upto(mr.c.seq, upto))
            .correlate(None)
        )
        redacted = (
            select(d.c.event_id)
            .join(r, r.c.event_id == d.c.redaction_id)
            .where(
                d.c.event_id.in_(recent)
                | d.c.event_id.in_(select(x.c.event_id).where(x.c.target.in_(recent))),
                *_upto(r.c.seq, upto),
            )
        )
        async with self.storage.begin() as conn:
            messages = await conn.execute(self._messages(m.c.event_id.in_(recent)))
            reactions = await conn.execute(
                self._reactions(x.c.target.in_(recent), *_upto(r.c.seq, upto))
            )
            gone = await conn.execute(redacted)
            return WeekRows(
                [_message(row) for row in messages],
                [ReactionRow(**row._mapping) for row in reactions],
                frozenset(str(row[0]) for row in gone),
            )

    # -- weeks, Matrix Live, acknowledgements ---------------------------------------

    async def last_week(self) -> PublishedWeek | None:
        """The most recent post written, which ended the previous week."""
        w = self.tables.weeks
        rows = await self._all(
            select(w).order_by(w.c.cutoff_seq.desc(), w.c.post_date.desc()).limit(1)
        )
        return _week(rows[0]) if rows else None

    async def week(
        self, *, command_id: EventID | None = None, day: date | None = None
    ) -> PublishedWeek | None:
        """The post written by the command ``command_id``, or the one dated ``day``."""
        w = self.tables.weeks
        which = w.c.command_id == command_id if command_id else w.c.post_date == str(day)
        rows = await self._all(select(w).where(which))
        return _week(rows[0]) if rows else None

    async def add_week(self, week: PublishedWeek) -> None:
        """Record a written post; the week after it holds what came after ``cutoff_seq``."""
        values = asdict(week) | {"post_date": week.post_date.isoformat()}
        async with self.storage.begin() as conn:
            await conn.execute(
                self.storage.insert(self.tables.weeks).values(values).on_conflict_do_nothing()
            )

    async def remove_week(self, week: PublishedWeek) -> None:
        """Forget a written post: the week it ended runs on, its reports in the draft."""
        w = self.tables.weeks
        async with self.storage.begin() as conn:
            await conn.execute(delete(w).where(w.c.command_id == week.command_id))

    async def set_live(self, event_id: EventID, ts: int, video: str | None) -> None:
        """Record the Matrix Live video an editor set (None: no video)."""
        await self._keep(
            event_id, self.tables.lives, {"event_id": event_id, "ts": ts, "video": video}
        )

    async def live(self, after: int, upto: int | None = None) -> str | None:
        """The video set last after number ``after`` (and up to ``upto``)."""
        li, r = self.tables.lives, self.tables.received
        rows = await self._all(
            select(li.c.video)
            .join(r, r.c.event_id == li.c.event_id)
            .where(r.c.seq > after, *_upto(r.c.seq, upto))
            .order_by(r.c.seq.desc())
            .limit(1)
        )
        return str(rows[0][0]) if rows and rows[0][0] else None

    async def ack(self, target: EventID) -> EventID | None:
        """The bot's acknowledgement of ``target``'s inclusion, if it sent one."""
        a = self.tables.acks
        rows = await self._all(select(a.c.ack_id).where(a.c.target == target))
        return EventID(rows[0][0]) if rows else None

    async def set_ack(self, target: EventID, ack_id: EventID | None) -> None:
        """Record (or, with None, forget) the acknowledgement of ``target``."""
        a = self.tables.acks
        async with self.storage.begin() as conn:
            await conn.execute(delete(a).where(a.c.target == target))
            if ack_id is not None:
                await conn.execute(a.insert().values(target=target, ack_id=ack_id))


def _message(row: Row[Any]) -> MessageRow:
    """A message's row as the table has it, as :class:`MessageRow`."""
    values = dict(row._mapping)
    values["mentions"] = tuple(UserID(u) for u in (values["mentions"] or "").split("\n") if u)
    return MessageRow(**values)


def _upto(seq: ColumnElement[int], upto: int | None) -> list[ColumnElement[bool]]:
    """The condition ``seq <= upto``, if there is an ``upto``."""
    return [] if upto is None else [seq <= upto]


def _week(row: Row[Any]) -> PublishedWeek:
    return PublishedWeek(**(row._asdict() | {"post_date": date.fromisoformat(row.post_date)}))
