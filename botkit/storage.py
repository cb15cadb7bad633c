"""Storage: one SQLAlchemy async engine, namespaced per plugin instance.

Each plugin instance gets a :class:`Storage` whose table names carry its own
prefix and whose schema is brought up to date by versioned migrations when the
instance starts. botkit's own tables (``botkit_*``) live in the same database.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from .private import protect, sqlite_files

__all__ = ["Migration", "Storage", "create_engine", "default_url", "migrate"]

Migration = Callable[[AsyncConnection, "Storage"], Awaitable[None]]
"""One schema step: gets a connection inside a transaction and the storage (for table names)."""


def default_url(config_path: Path) -> str:
    """The default database: a SQLite file ``botkit.db`` next to the config file."""
    return f"sqlite+aiosqlite:///{config_path.resolve().parent / 'botkit.db'}"


def create_engine(url: str) -> AsyncEngine:
    """An async engine for ``url``; SQLite gets WAL mode and a busy timeout.

    The database holds the access token: a SQLite file is created 0600, and
    neither SQLAlchemy's SQL echo nor aiosqlite's debug lines show the values
    of a statement, whatever the log level.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, hide_parameters=True)
    protect(sqlite_files(url))
    _hide_aiosqlite_arguments()
    engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

    from sqlalchemy import event

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_conn: object, _record: object) -> None:
        cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


class _CallNames(logging.Filter):
    """Shows only the name of the call in aiosqlite's "executing <call>" debug lines.

    The call is a ``functools.partial`` whose repr holds the statement's parameters.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            call = record.args[0]
            if callable(call):
                inner = getattr(call, "func", call)
                record.args = (getattr(inner, "__qualname__", type(inner).__name__),)
        return True


def _hide_aiosqlite_arguments() -> None:
    logger = logging.getLogger("aiosqlite")
    if not any(isinstance(f, _CallNames) for f in logger.filters):
        logger.addFilter(_CallNames())


class Storage:
    """A plugin instance's view of the database: its engine and its table prefix."""

    def __init__(self, engine: AsyncEngine, namespace: str) -> None:
        self.engine = engine
        self.namespace = namespace
        self.prefix = "p_" + re.sub(r"[^a-z0-9]+", "_", namespace.lower()).strip("_") + "_"

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``: for the few queries that differ."""
        return self.engine.dialect.name

    def table(self, name: str) -> str:
        """The real name of this instance's table ``name``."""
        return self.prefix + name

    def begin(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection in a transaction that commits on success, rolls back on error."""
        return self.engine.begin()

    def connect(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A plain connection (autobegin; commit yourself)."""
        return self.engine.connect()


_VERSIONS = "botkit_schema_versions"


async def migrate(storage: Storage, migrations: Sequence[Migration]) -> int:
    """Run the migrations ``storage`` has not had yet; return the schema version.

    Each migration runs in its own transaction together with the version bump,
    so a failing one leaves the schema at the previous version.
    """
    async with storage.begin() as conn:
        await conn.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {_VERSIONS} "
                "(namespace VARCHAR(255) PRIMARY KEY, version INTEGER NOT NULL)"
            )
        )
        row = await conn.execute(
            text(f"SELECT version FROM {_VERSIONS} WHERE namespace = :ns"),
            {"ns": storage.namespace},
        )
        current = row.scalar_one_or_none() or 0
    for version, step in enumerate(migrations[current:], start=current + 1):
        async with storage.begin() as conn:
            await step(conn, storage)
            await conn.execute(
                text(f"DELETE FROM {_VERSIONS} WHERE namespace = :ns"), {"ns": storage.namespace}
            )
            await conn.execute(
                text(f"INSERT INTO {_VERSIONS} (namespace, version) VALUES (:ns, :v)"),
                {"ns": storage.namespace, "v": version},
            )
    return max(current, len(migrations))
