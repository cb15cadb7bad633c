"""A plugin's tables as SQLAlchemy Core objects: declared once, bound per instance.

A plugin declares its tables on a :class:`Tables` subclass, as plain Core tables on
the subclass's own ``MetaData``, together with the migrations that built them::

    class KarmaTables(Tables):
        metadata = MetaData()
        votes = Table("votes", metadata, Column("user_id", String(255), primary_key=True))
        migrations = (Migration("Votes by user", create_votes),)

Each instance gets a copy of every table whose name (and whose indexes' names) carry
the instance's prefix, so two instances of one plugin never share a table, and the
plugin writes ``select(self.tables.votes)`` rather than building names into SQL.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import DDL, Constraint, Index, MetaData, Table, quoted_name
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.ddl import ExecutableDDLElement

__all__ = ["Migration", "Tables", "ddl", "declared_tables"]

T = TypeVar("T", bound="Tables")


@dataclass(frozen=True, slots=True)
class Migration(Generic[T]):
    """One schema step: what it does, in a sentence, and the step itself.

    The step runs inside a transaction with the instance's bound tables. Migrations
    are history: once released, a step is never edited, so it creates what the
    schema was at its version (``DDL`` text where a table changed later), and the
    :class:`Tables` declaration describes the schema after the last one.
    """

    description: str
    """Shown in the log when the step runs, e.g. ``"Index pongs by ping"``."""
    step: Callable[[AsyncConnection, T], Awaitable[None]]


class Tables:
    """Base of a plugin's table declarations; see the module docstring.

    An instance is one plugin instance's view: each class attribute holding one of
    the subclass's tables (or a named ``Index`` of one) is shadowed by its prefixed copy.
    """

    metadata: ClassVar[MetaData] = MetaData()
    """The subclass's own ``MetaData``, declared first in its body; names unprefixed."""
    migrations: ClassVar[Sequence[Migration[Any]]] = ()
    """Schema steps, oldest first; new ones are appended, never edited."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "metadata" not in cls.__dict__:
            raise TypeError(f"{cls.__qualname__}: declare `metadata = MetaData()` in the class")
        for table in cls.metadata.tables.values():
            if table.foreign_keys:
                # A copy's foreign key would still name the unprefixed table.
                raise TypeError(
                    f"{cls.__qualname__}: table {table.name!r} has a foreign key;"
                    " foreign keys between a plugin's tables are not supported"
                )

    def __init__(self, prefix: str) -> None:
        """Bind the declared tables to ``prefix`` (``p_<instance>_``)."""
        self.prefix = prefix
        self.bound_metadata = MetaData()
        """The prefixed tables, as one ``MetaData``."""
        copies: dict[str, Table] = {}
        for table in type(self).metadata.sorted_tables:
            copy = table.to_metadata(self.bound_metadata, name=prefix + table.name)
            # Index and constraint names are per schema in PostgreSQL: they need the
            # prefix too. Those made by naming conventions follow the copy's name already.
            originals: list[Index | Constraint] = [*table.indexes, *table.constraints]
            declared = {str(item.name) for item in originals if isinstance(item.name, str)}
            items: list[Index | Constraint] = [*copy.indexes, *copy.constraints]
            for item in items:
                name = item.name
                if isinstance(name, str) and name in declared:
                    item.name = quoted_name(prefix + name, getattr(name, "quote", None))
            copies[table.name] = copy
        for klass in reversed(type(self).__mro__):
            for attr, value in vars(klass).items():
                if isinstance(value, Table) and value.name in copies:
                    setattr(self, attr, copies[value.name])
                elif isinstance(value, Index) and isinstance(value.table, Table):
                    # An index declared on its own (to create it in a later migration).
                    copy = copies[value.table.name]
                    name = prefix + str(value.name)
                    setattr(self, attr, next(i for i in copy.indexes if i.name == name))

    async def create(self, conn: AsyncConnection, *tables: Table) -> None:
        """Create ``tables`` (all of them if none are named) with their indexes.

        For a migration that creates tables as they are declared now.
        """
        chosen = list(tables) or None
        await conn.run_sync(lambda sync: self.bound_metadata.create_all(sync, tables=chosen))


def ddl(statement: str, table: Table) -> ExecutableDDLElement:
    """``statement`` with ``%(table)s`` standing for ``table``'s name, ready to execute.

    For a migration that keeps the SQL it was released with (``ALTER TABLE``, an
    index that changed later), written with the bound table rather than its name.
    """
    return DDL(statement).against(table)  # type: ignore[no-untyped-call]


def declared_tables(plugin_class: type[Any]) -> type[Tables]:
    """The :class:`Tables` subclass named by the ``tables`` annotation of ``plugin_class``.

    The host binds it when an instance starts. :class:`Tables` itself (no tables)
    when the plugin does not narrow the annotation. Raises ``TypeError`` naming the
    annotation when it does not name a :class:`Tables` subclass.
    """
    for klass in plugin_class.__mro__:
        annotation = vars(klass).get("__annotations__", {}).get("tables")
        if annotation is None:
            continue
        if isinstance(annotation, str):
            namespace = vars(sys.modules[klass.__module__])
            try:
                # What typing.get_type_hints does for one name: the text is the
                # plugin's own source, evaluated where the class was defined.
                annotation = eval(annotation, dict(namespace))
            except Exception as e:
                raise TypeError(
                    f"annotation `tables: {annotation}` of {klass.__qualname__} cannot be"
                    f" resolved ({e}); import the Tables class at run time"
                ) from None
        if not (isinstance(annotation, type) and issubclass(annotation, Tables)):
            raise TypeError(
                f"`tables` of {klass.__qualname__} must be annotated with a Tables subclass,"
                f" not {annotation!r}"
            )
        return annotation
    return Tables
