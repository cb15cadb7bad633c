"""Fails the way plugins fail in the wild: its database, a hang, a bug, a broken start."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from botkit import CommandContext, Plugin, Storage, command


async def create_entries(conn: AsyncConnection, storage: Storage) -> None:
    """Schema version 1: the tags ``!store`` stored."""
    await conn.execute(
        text(f"CREATE TABLE {storage.table('entries')} (tag VARCHAR(255) PRIMARY KEY)")
    )


class Flaky(Plugin):
    """Each command fails in its own way until the test lets it succeed."""

    migrations = (create_entries,)
    hung: set[str]

    async def start(self) -> None:
        """Fail when configured to, like a plugin with a config it cannot use."""
        if self.config["broken_start"]:
            raise ValueError("broken_start is set")
        self.hung = set()

    @command("store", help="Store a tag, then say so")
    async def store(self, ctx: CommandContext, tag: str) -> None:
        """Write ``tag`` to the database (idempotently, keyed by it) and answer."""
        async with self.storage.begin() as conn:
            await conn.execute(
                text(
                    f"INSERT INTO {self.storage.table('entries')} (tag) VALUES (:t) "
                    "ON CONFLICT DO NOTHING"
                ),
                {"t": tag},
            )
        await ctx.reply(f"stored {tag}", markdown=False)

    @command("hang", help="Hang the first time for each tag, then answer")
    async def hang(self, ctx: CommandContext, tag: str) -> None:
        """Sleep beyond any handler timeout the first time ``tag`` comes."""
        if tag not in self.hung:
            self.hung.add(tag)
            await asyncio.sleep(3600)
        await ctx.reply(f"woke {tag}", markdown=False)

    @command("poison", help="Fail while poisoned is set")
    async def poison(self, ctx: CommandContext, tag: str) -> None:
        """Raise while the config says ``poisoned``, else answer."""
        if self.config["poisoned"]:
            raise RuntimeError(f"cannot digest {tag}")
        await ctx.reply(f"digested {tag}", markdown=False)

    @command("say", help="Answer with the tag")
    async def say(self, ctx: CommandContext, tag: str) -> None:
        """Answer ``said <tag>``."""
        await ctx.reply(f"said {tag}", markdown=False)
