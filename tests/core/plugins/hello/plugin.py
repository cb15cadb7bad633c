"""A small plugin: a command with an argument, a table, a web route."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from botkit import CommandContext, Migration, Plugin, Rest, Tables, command


async def create_greetings(conn: AsyncConnection, tables: HelloTables) -> None:
    await tables.create(conn, tables.greetings)


class HelloTables(Tables):
    """One row per greeted name."""

    metadata = MetaData()
    greetings = Table(
        "greetings",
        metadata,
        Column("name", String(255), primary_key=True),
        Column("times", Integer, nullable=False),
    )
    migrations = (Migration("Greetings by name", create_greetings),)


class Hello(Plugin):
    """Greets people and remembers how often."""

    tables: HelloTables

    async def start(self) -> None:
        """Serve the greeting counts as JSON."""
        self.web.add_get("counts", self.counts)

    @command("hello", aliases=("hi",), help="Say hello")
    async def hello(self, ctx: CommandContext, name: Rest = "") -> None:
        """Greet ``name`` (or the sender) and count it."""
        name = name or ctx.sender
        greetings = self.tables.greetings
        count = (
            self.storage.insert(greetings)
            .values(name=name, times=1)
            .on_conflict_do_update(
                index_elements=[greetings.c.name], set_={"times": greetings.c.times + 1}
            )
            .returning(greetings.c.times)
        )
        async with self.storage.begin() as conn:
            times = (await conn.execute(count)).scalar_one()
        await ctx.reply(f"{self.config['greeting']}, {name}! (greeting number {times})")

    async def counts(self, request: web.Request) -> web.Response:
        """``GET counts``: every greeted name and how often."""
        greetings = self.tables.greetings
        async with self.storage.begin() as conn:
            rows = await conn.execute(select(greetings.c.name, greetings.c.times))
            return web.json_response({name: times for name, times in rows})
