"""Counts messages per watched room; the counts follow a room upgrade."""

from __future__ import annotations

from mautrix.types import EventType, MessageEvent, RoomID
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from botkit import CommandContext, Plugin, Storage, command, on


async def create_counts(conn: AsyncConnection, storage: Storage) -> None:
    """Schema version 1: messages counted per room."""
    await conn.execute(
        text(
            f"CREATE TABLE {storage.table('counts')} "
            "(room VARCHAR(255) PRIMARY KEY, n INTEGER NOT NULL)"
        )
    )


class Rooms(Plugin):
    """Counts the messages in ``config.rooms``; ``!count`` tells the count of the room."""

    migrations = (create_counts,)

    def watches(self, room_id: RoomID) -> bool:
        """Only the configured rooms are counted."""
        return room_id in self.config["rooms"]

    async def _count(self, room: str) -> int:
        async with self.storage.connect() as conn:
            row = await conn.execute(
                text(f"SELECT n FROM {self.storage.table('counts')} WHERE room = :r"), {"r": room}
            )
            return int(row.scalar_one_or_none() or 0)

    @on(EventType.ROOM_MESSAGE)
    async def on_message(self, evt: MessageEvent) -> None:
        """Count a message that is no command and not the bot's own."""
        if evt.sender == self.client.mxid or str(evt.content.body).startswith("!"):
            return
        n = await self._count(evt.room_id) + 1
        table = self.storage.table("counts")
        async with self.storage.begin() as conn:
            await conn.execute(text(f"DELETE FROM {table} WHERE room = :r"), {"r": evt.room_id})
            await conn.execute(
                text(f"INSERT INTO {table} (room, n) VALUES (:r, :n)"), {"r": evt.room_id, "n": n}
            )

    @command("count", help="How many messages this room has had")
    async def count(self, ctx: CommandContext) -> None:
        """Tell the count of this room, and whether it is watched."""
        watched = "watched" if self.watches(ctx.room_id) else "not watched"
        await ctx.reply(f"{await self._count(ctx.room_id)} messages, {watched}", markdown=False)

    async def on_room_upgrade(self, old: RoomID, new: RoomID) -> None:
        """The old room's count goes on in the new room (idempotent: a move, not a sum)."""
        table = self.storage.table("counts")
        async with self.storage.begin() as conn:
            moved = await conn.execute(text(f"SELECT n FROM {table} WHERE room = :r"), {"r": old})
            n = moved.scalar_one_or_none()
            if n is None:
                return
            both = {"o": old, "n": new}
            await conn.execute(text(f"DELETE FROM {table} WHERE room IN (:o, :n)"), both)
            values = {"r": new, "n": n}
            await conn.execute(text(f"INSERT INTO {table} (room, n) VALUES (:r, :n)"), values)
