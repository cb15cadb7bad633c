"""Storage: one SQLAlchemy async engine, namespaced per plugin instance.

Each plugin instance gets a :class:`Storage` whose table names carry its own
prefix and whose schema is brought up to date by versioned migrations when the
instance starts. A plugin declares its tables as SQLAlchemy Core objects on a
:class:`~botkit.tables.Tables` subclass; :meth:`Storage.bind` gives the copies with
this instance's names. botkit's own tables (``botkit_*``) live in the same database.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Column, Integer, MetaData, String, Table, delete, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.schema import CreateTable

from .errors import BotkitError
from .private import protect, sqlite_files
from .tables import Migration, Tables

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

__all__ = [
    "Migration",
    "RawStep",
    "SchemaTooNew",
    "Storage",
    "create_engine",
    "default_url",
    "migrate",
]

log = logging.getLogger("botkit.storage")

T = TypeVar("T", bound=Tables)

RawStep = Callable[[AsyncConnection, "Storage"], Awaitable[None]]
"""A schema step without Core tables: gets a connection in a transaction and the storage.

Described in the log by its docstring's first line. botkit's own state and plugins
written before :class:`~botkit.tables.Tables` use these.
"""


class SchemaTooNew(BotkitError, RuntimeError):
    """The database holds a schema version of a namespace that the code does not know.

    A newer release of the plugin (or of botkit) migrated it; running older code on
    it could lose or garble data, so the instance does not start.
    """

    def __init__(self, namespace: str, found: int, known: int) -> None:
        self.namespace = namespace
        self.found = found
        self.known = known
        super().__init__(
            f"the database holds schema version {found} of {namespace!r}, but this code"
            f" knows versions up to {known} only: a newer release wrote it. Run that"
            " release (or a newer one), or restore a backup taken before it ran;"
            " botkit never downgrades a schema."
        )


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
        self._bound: dict[type[Tables], Tables] = {}

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``: for the few queries that differ."""
        return self.engine.dialect.name

    def table(self, name: str) -> str:
        """The real name of this instance's table ``name``, for a :data:`RawStep`."""
        return self.prefix + name

    def bind(self, tables: type[T]) -> T:
        """The tables declared by ``tables``, named for this instance (made once)."""
        bound = self._bound.get(tables)
        if bound is None:
            bound = self._bound[tables] = tables(self.prefix)
        assert isinstance(bound, tables)
        return bound

    def insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        """``INSERT INTO table`` with the engine's ``ON CONFLICT`` clauses.

        ``.on_conflict_do_nothing()`` and ``.on_conflict_do_update()`` read alike on
        both engines; SQLAlchemy has a class for each.
        """
        # Imported for the engine in use only: the PostgreSQL dialect alone costs
        # 2 MB of memory and 30 ms of start-up.
        if self.dialect == "postgresql":
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table)
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)

    def begin(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection in a transaction that commits on success, rolls back on error."""
        return self.engine.begin()

    def connect(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A plain connection (autobegin; commit yourself)."""
        return self.engine.connect()


_versions = Table(
    "botkit_schema_versions",
    MetaData(),
    Column("namespace", String(255), primary_key=True),
    Column("version", Integer, nullable=False),
)


async def migrate(
    storage: Storage, schema: type[Tables] | Sequence[RawStep], *, upto: int | None = None
) -> int:
    """Run the migrations ``storage`` has not had yet; return the schema version.

    ``schema`` is a :class:`~botkit.tables.Tables` subclass (its ``migrations`` get
    the bound tables) or a list of :data:`RawStep`. ``upto`` stops at that version
    (to test an upgrade from it). Each migration runs in its own transaction
    together with the version bump, so a failing one leaves the schema at the
    previous version. A database at a version beyond the last migration raises
    :class:`SchemaTooNew` and changes nothing (unless there are no migrations at all).
    """
    steps = _steps(storage, schema)
    known = len(steps)
    mine = _versions.c.namespace == storage.namespace
    async with storage.begin() as conn:
        await conn.execute(CreateTable(_versions, if_not_exists=True))
        row = await conn.execute(select(_versions.c.version).where(mine))
        current = row.scalar_one_or_none() or 0
    # Code without migrations keeps nothing in the database, so it cannot misread a
    # newer schema (and the built-in instance "botkit" shares botkit's own namespace).
    if current > known > 0:
        raise SchemaTooNew(storage.namespace, current, known)
    target = known if upto is None else min(upto, known)
    for version in range(current + 1, target + 1):
        description, run = steps[version - 1]
        log.info("%s: schema version %d: %s", storage.namespace, version, description)
        async with storage.begin() as conn:
            await run(conn)
            await conn.execute(delete(_versions).where(mine))
            await conn.execute(
                _versions.insert().values(namespace=storage.namespace, version=version)
            )
    return max(current, target)


_Run = Callable[[AsyncConnection], Awaitable[None]]


def _steps(storage: Storage, schema: type[Tables] | Sequence[RawStep]) -> list[tuple[str, _Run]]:
    """Each migration's description and a call that runs it on a connection."""
    if isinstance(schema, type):
        tables = storage.bind(schema)
        return [(m.description, _with(m, tables)) for m in schema.migrations]
    return [(_describe(step), _with_storage(step, storage)) for step in schema]


def _with(migration: Migration[Any], tables: Tables) -> _Run:
    return lambda conn: migration.step(conn, tables)


def _with_storage(step: RawStep, storage: Storage) -> _Run:
    return lambda conn: step(conn, storage)


def _describe(step: RawStep) -> str:
    doc = (getattr(step, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else getattr(step, "__name__", repr(step))
