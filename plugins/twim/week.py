"""What the editors set for one week by command: the post's date, editor and Live title,
and where the week starts (``!twim clear`` starts it anew without a post).

Each ``!twim date``, ``!twim editor`` and ``!twim title`` is kept as a row keyed by
its command's event id and numbered in the order of arrival, as the reports are; the
last of each kind received in the week counts, until the post is published. "none"
goes back to the config's value (``editor_name``, ``live_title``) or today's date.
A ``!twim clear`` that waits for its confirmation is a row too (``clear_asked``), so
that the confirmation still works after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import attrs
from mautrix.types import EventID
from sqlalchemy import func, select

from botkit import Storage

from .schema import TwimTables
from .settings import Settings
from .store import TwimStore

__all__ = ["WeekChoices", "WeekStore"]

Kind = Literal["date", "editor", "live_title", "clear", "clear_asked"]


@dataclass(frozen=True)
class WeekChoices:
    """The values set for the week (None: not set, the config's or today's applies)."""

    day: date | None = None
    editor: str | None = None
    live_title: str | None = None

    def applied(self, settings: Settings) -> Settings:
        """``settings`` with the editor and the Live title of the week."""
        return attrs.evolve(
            settings,
            editor_name=self.editor or settings.editor_name,
            live_title=self.live_title or settings.live_title,
        )


class WeekStore:
    """The ``week_values`` rows (schema version 4)."""

    def __init__(self, store: TwimStore, storage: Storage) -> None:
        self.store = store
        self.storage = storage
        self.tables = storage.bind(TwimTables)

    async def set(self, event_id: EventID, kind: Kind, value: str | None) -> None:
        """Keep ``kind`` = ``value`` as set by the command ``event_id`` (again: no change)."""
        await self.store.receive(event_id)
        insert = self.storage.insert(self.tables.week_values)
        async with self.storage.begin() as conn:
            await conn.execute(
                insert.values(event_id=event_id, kind=kind, value=value).on_conflict_do_nothing()
            )

    async def start(self) -> int:
        """Where the week starts in the order of arrival: after the last post or the
        last ``!twim clear``, whichever came later."""
        last = await self.store.last_week()
        w, r = self.tables.week_values, self.tables.received
        async with self.storage.begin() as conn:
            rows = await conn.execute(
                select(func.max(r.c.seq))
                .join_from(w, r, r.c.event_id == w.c.event_id)
                .where(w.c.kind == "clear")
            )
            cleared = rows.scalar_one_or_none() or 0
        return max(last.cutoff_seq if last else 0, int(cleared))

    async def clear_asked(self, sender: str, after: int) -> int | None:
        """When (``origin_server_ts``, ms) ``sender`` last asked to clear the week, among
        the commands received after number ``after``; None if they did not."""
        w, r = self.tables.week_values, self.tables.received
        async with self.storage.begin() as conn:
            rows = await conn.execute(
                select(w.c.value)
                .join_from(w, r, r.c.event_id == w.c.event_id)
                .where(w.c.kind == "clear_asked", r.c.seq > after)
                .order_by(r.c.seq)
            )
            # Each value is "<timestamp> <sender>" (see WeekCommands.clear).
            asked = [str(value).split(" ", 1) for (value,) in rows]
        times = [int(ts) for ts, who in asked if who == sender]
        return times[-1] if times else None

    async def choices(self, after: int, upto: int | None = None) -> WeekChoices:
        """The last value of each kind received after number ``after`` (up to ``upto``)."""
        w, r = self.tables.week_values, self.tables.received
        received = [r.c.seq > after] + ([] if upto is None else [r.c.seq <= upto])
        async with self.storage.begin() as conn:
            rows = await conn.execute(
                select(w.c.kind, w.c.value)
                .join(r, r.c.event_id == w.c.event_id)
                .where(*received)
                .order_by(r.c.seq)
            )
            last = {str(kind): value for kind, value in rows}
        day = last.get("date")
        return WeekChoices(
            day=date.fromisoformat(day) if day else None,
            editor=last.get("editor") or None,
            live_title=last.get("live_title") or None,
        )
