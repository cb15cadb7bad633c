"""The pong store's table, as a SQLAlchemy Core table, and the migrations that built it.

One row per measurement: a pong seen in a room, unique per (room, ping, responding
server). The migrations are history: they keep the SQL they were released with.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from botkit.tables import Migration, Tables, ddl

__all__ = ["PongTables"]


async def _create_pongs(conn: AsyncConnection, tables: PongTables) -> None:
    await conn.execute(
        ddl(
            "CREATE TABLE %(table)s ("
            " room_id VARCHAR(255) NOT NULL,"
            " ping_event_id VARCHAR(255) NOT NULL,"
            " responder_server VARCHAR(255) NOT NULL,"
            " pinger_server VARCHAR(255) NOT NULL,"
            " latency_ms BIGINT NOT NULL,"
            " pong_ts BIGINT NOT NULL,"
            " PRIMARY KEY (room_id, ping_event_id, responder_server))",
            tables.pongs,
        )
    )
    await conn.execute(
        ddl(
            "CREATE INDEX %(table)s_ranking ON %(table)s"
            " (room_id, pinger_server, latency_ms, pong_ts)",
            tables.pongs,
        )
    )


async def _cover_pings(conn: AsyncConnection, tables: PongTables) -> None:
    await conn.execute(ddl("DROP INDEX %(table)s_ranking", tables.pongs))
    await conn.run_sync(tables.ranking_index.create)


class PongTables(Tables):
    """The pong store: one row per measurement."""

    metadata = MetaData()
    pongs = Table(
        "pongs",
        metadata,
        Column("room_id", String(255), primary_key=True),
        Column("ping_event_id", String(255), primary_key=True),
        Column("responder_server", String(255), primary_key=True),
        Column("pinger_server", String(255), nullable=False),
        Column("latency_ms", BigInteger, nullable=False),
        Column("pong_ts", BigInteger, nullable=False),
    )
    # Covers the ranking: one room's rows grouped by server, in latency order, with
    # the timestamp at hand, so neither engine reads the table or sorts to rank. The
    # ranking counts distinct pings: with the ping ID here too it still reads the
    # index alone, rather than every counted row of the table.
    ranking_index = Index(
        "pongs_ranking",
        pongs.c.room_id,
        pongs.c.pinger_server,
        pongs.c.latency_ms,
        pongs.c.pong_ts,
        pongs.c.ping_event_id,
    )
    migrations = (
        Migration("Pongs, with an index to rank them", _create_pongs),
        Migration("The ranking index holds the ping IDs it counts", _cover_pings),
    )
