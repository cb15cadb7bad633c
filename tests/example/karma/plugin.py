"""Karma: ``bob++`` and ``carol--`` in any message, ``!karma top`` and ``!karma show bob``.

The example plugin of the README's "Writing a plugin", tested in ``tests/example``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal, Protocol, runtime_checkable

import attrs
from aiohttp import web
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from botkit import (
    CommandContext,
    MessageContext,
    Migration,
    Plugin,
    ServiceKey,
    Tables,
    command,
    passive,
    route,
)
from botkit.config import Invalid, at_least, between
from botkit.tables import ddl


@attrs.frozen
class KarmaConfig:
    """An instance's config: the keys of ``config.yaml``, and what they may be."""

    top: int = attrs.field(validator=between(1, 100))
    self_votes: Literal["ignore", "scold"]
    decay_after_hours: int | None = attrs.field(validator=at_least(1))
    decay_percent: int = attrs.field(validator=between(0, 50))

    def __attrs_post_init__(self) -> None:
        if self.decay_after_hours is not None and self.decay_percent == 0:
            raise Invalid("decay_percent", "must be more than 0 when decay_after_hours is set")


async def create_scores(conn: AsyncConnection, tables: KarmaTables) -> None:
    # The table as the first release made it; tables.create() would make today's.
    statement = "CREATE TABLE %(table)s (name VARCHAR(255) PRIMARY KEY, score INTEGER NOT NULL)"
    await conn.execute(ddl(statement, tables.scores))


async def add_last_vote(conn: AsyncConnection, tables: KarmaTables) -> None:
    await conn.execute(ddl("ALTER TABLE %(table)s ADD COLUMN last_vote BIGINT", tables.scores))


class KarmaTables(Tables):
    """One row per name that ever got a vote."""

    metadata = MetaData()
    scores = Table(
        "scores",
        metadata,
        Column("name", String(255), primary_key=True),
        Column("score", Integer, nullable=False),
        Column("last_vote", BigInteger),  # seconds since 1970; NULL: no vote since 1.1
    )
    migrations = (
        Migration("Karma by name", create_scores),
        Migration("Remember when each name last got a vote", add_last_vote),
    )


@runtime_checkable
class KarmaScores(Protocol):
    """What the karma plugin offers other plugins, under :data:`KARMA_SCORES`."""

    async def score_of(self, name: str) -> int:
        """The karma of ``name`` (0 for a name nobody voted for)."""
        ...


KARMA_SCORES = ServiceKey("karma-scores", KarmaScores)

_NAME = re.compile(r"@?([\w.-]+)(?::\S+)?")


def karma_name(word: str) -> str:
    """a name like bob or @bob:example.org"""
    found = _NAME.fullmatch(word)
    if found is None:
        raise ValueError(word)
    return found.group(1).lower()


Name = Annotated[str, karma_name]


class Karma(Plugin):
    """Counts ``name++`` and ``name--``, lists the best, serves the scores as JSON."""

    config_class = KarmaConfig
    config: KarmaConfig
    tables: KarmaTables

    async def start(self) -> None:
        """Offer the scores to other plugins, and let idle karma fade if asked to."""
        self.services.provide(KARMA_SCORES, self)
        if self.config.decay_after_hours is not None:
            self.scheduler.every(3600, self.fade)

    @command("karma top", help="The names with the most karma")
    async def top(self, ctx: CommandContext, count: int | None = None) -> None:
        """List the ``count`` best names (``top`` from the config without one)."""
        scores = self.tables.scores
        best = (
            select(scores.c.name, scores.c.score)
            .order_by(scores.c.score.desc(), scores.c.name)
            .limit(min(count or self.config.top, 100))
        )
        async with self.storage.begin() as conn:
            rows = (await conn.execute(best)).all()
        lines = [f"{place}. {name}: {score}" for place, (name, score) in enumerate(rows, 1)]
        await ctx.reply("\n".join(lines) or "Nobody has karma yet.")

    @command("karma show", help="Someone's karma")
    async def show(self, ctx: CommandContext, name: Name) -> None:
        """Answer with the karma of ``name``."""
        await ctx.reply(f"{name} has {await self.score_of(name)} karma.")

    @passive(r"([\w.-]+)(\+\+|--)", multiple=True)
    async def vote(self, ctx: MessageContext, matches: list[re.Match[str]]) -> None:
        """Count every ``name++`` and ``name--`` of a message (not one of a command)."""
        voter = karma_name(ctx.sender)
        votes = [(m[1].lower(), 1 if m[2] == "++" else -1) for m in matches]
        if any(name == voter for name, _ in votes) and self.config.self_votes == "scold":
            await ctx.reply("Nice try: your own karma is not yours to vote on.")
        now = int(self.scheduler.now().timestamp())
        scores = self.tables.scores
        async with self.storage.begin() as conn:
            for name, delta in votes:
                if name == voter:
                    continue
                count = (
                    self.storage.insert(scores)
                    .values(name=name, score=delta, last_vote=now)
                    .on_conflict_do_update(
                        index_elements=[scores.c.name],
                        set_={"score": scores.c.score + delta, "last_vote": now},
                    )
                )
                await conn.execute(count)

    async def fade(self) -> None:
        """Hourly: take ``decay_percent`` off the karma of names idle for too long."""
        hours = self.config.decay_after_hours
        if hours is None:
            return
        idle_since = int((self.scheduler.now() - timedelta(hours=hours)).timestamp())
        scores = self.tables.scores
        kept = 100 - self.config.decay_percent
        faded = (
            update(scores)
            .where(scores.c.last_vote < idle_since)
            .values(score=scores.c.score * kept // 100)
        )
        async with self.storage.begin() as conn:
            await conn.execute(faded)

    @route.get("user/{name}")
    async def user(self, request: web.Request) -> web.Response:
        """``GET user/bob``: ``{"name": "bob", "karma": 3}``."""
        try:
            name = karma_name(request.match_info["name"])
        except ValueError:
            raise web.HTTPBadRequest(text="not a name") from None
        return web.json_response({"name": name, "karma": await self.score_of(name)})

    async def score_of(self, name: str) -> int:
        """The karma of ``name`` (0 for a name nobody voted for); the service's method."""
        scores = self.tables.scores
        async with self.storage.begin() as conn:
            score = await conn.scalar(select(scores.c.score).where(scores.c.name == name))
        return score or 0
