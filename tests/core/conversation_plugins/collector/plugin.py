"""Stores each message it sees with how often it saw it; commands tell the count."""

from __future__ import annotations

import asyncio

from mautrix.types import EventType, MessageEvent
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from botkit import CommandContext, Plugin, Storage, command, on


async def create_seen(conn: AsyncConnection, storage: Storage) -> None:
    """Schema version 1: each message seen, with the number of times."""
    await conn.execute(
        text(
            f"CREATE TABLE {storage.table('seen')} "
            "(event_id VARCHAR(255) PRIMARY KEY, body TEXT NOT NULL, times INTEGER NOT NULL)"
        )
    )


class Collector(Plugin):
    """Like twim: wants everything of the last week, after downtime or a late join."""

    migrations = (create_seen,)
    catchup_age = 7 * 86400.0

    @on(EventType.ROOM_MESSAGE)
    async def on_message(self, evt: MessageEvent) -> None:
        """Record the message (a repeat counts up: the test wants exactly once)."""
        if evt.sender == self.client.mxid:
            return
        await asyncio.sleep(float(self.config["delay"]))
        table = self.storage.table("seen")
        async with self.storage.begin() as conn:
            row = await conn.execute(
                text(f"SELECT times FROM {table} WHERE event_id = :e"), {"e": evt.event_id}
            )
            times = int(row.scalar_one_or_none() or 0) + 1
            await conn.execute(
                text(f"DELETE FROM {table} WHERE event_id = :e"), {"e": evt.event_id}
            )
            values = {"e": evt.event_id, "b": str(evt.content.body), "t": times}
            await conn.execute(
                text(f"INSERT INTO {table} (event_id, body, times) VALUES (:e, :b, :t)"), values
            )

    async def seen(self) -> dict[str, int]:
        """Body -> how many times it was collected."""
        async with self.storage.connect() as conn:
            rows = await conn.execute(text(f"SELECT body, times FROM {self.storage.table('seen')}"))
            return {body: times for body, times in rows}

    @command("collected", help="How many messages were collected")
    async def collected(self, ctx: CommandContext) -> None:
        """Say how many messages were collected."""
        await ctx.reply(f"collected {len(await self.seen())}", markdown=False)
