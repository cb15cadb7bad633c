"""A small plugin: a command with an argument, storage, a web route."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from botkit import CommandContext, Plugin, Rest, Storage, command


async def create_greetings(conn: AsyncConnection, storage: Storage) -> None:
    """Schema version 1: one row per greeted name."""
    await conn.execute(
        text(
            f"CREATE TABLE {storage.table('greetings')} "
            "(name VARCHAR(255) PRIMARY KEY, times INTEGER NOT NULL)"
        )
    )


class Hello(Plugin):
    """Greets people and remembers how often."""

    migrations = (create_greetings,)

    async def start(self) -> None:
        """Serve the greeting counts as JSON."""
        self.web.add_get("counts", self.counts)

    @command("hello", aliases=("hi",), help="Say hello")
    async def hello(self, ctx: CommandContext, name: Rest = "") -> None:
        """Greet ``name`` (or the sender) and count it."""
        name = name or ctx.sender
        table = self.storage.table("greetings")
        async with self.storage.begin() as conn:
            row = await conn.execute(
                text(f"SELECT times FROM {table} WHERE name = :n"), {"n": name}
            )
            times = (row.scalar_one_or_none() or 0) + 1
            await conn.execute(text(f"DELETE FROM {table} WHERE name = :n"), {"n": name})
            await conn.execute(
                text(f"INSERT INTO {table} (name, times) VALUES (:n, :t)"), {"n": name, "t": times}
            )
        await ctx.reply(f"{self.config['greeting']}, {name}! (greeting number {times})")

    async def counts(self, request: web.Request) -> web.Response:
        """``GET counts``: every greeted name and how often."""
        async with self.storage.begin() as conn:
            rows = await conn.execute(
                text(f"SELECT name, times FROM {self.storage.table('greetings')}")
            )
            return web.json_response({name: times for name, times in rows})
