"""A scheduled job that writes down each of its runs: which process ran it, and when."""

from __future__ import annotations

import os
import time

from sqlalchemy import BigInteger, Column, Integer, MetaData, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from botkit import Migration, Plugin, Tables

# Often enough that a test sees several runs within a second.
INTERVAL = 0.1


async def create_runs(conn: AsyncConnection, tables: TickerTables) -> None:
    await tables.create(conn, tables.runs)


class TickerTables(Tables):
    """One row per run of the job."""

    metadata = MetaData()
    runs = Table(
        "runs",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("pid", Integer, nullable=False),
        Column("at_ms", BigInteger, nullable=False),
    )
    migrations = (Migration("Runs of the job", create_runs),)


class Ticker(Plugin):
    """Runs one job every ``INTERVAL`` seconds, as twim runs its weekly preview."""

    tables: TickerTables

    async def start(self) -> None:
        """Schedule the job."""
        self.scheduler.every(INTERVAL, self.tick)

    async def tick(self) -> None:
        """Record this run."""
        row = {"pid": os.getpid(), "at_ms": int(time.time() * 1000)}
        async with self.storage.begin() as conn:
            await conn.execute(self.tables.runs.insert().values(**row))
