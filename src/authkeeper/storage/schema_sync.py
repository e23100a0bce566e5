"""Create the tables and columns a database lacks; never drop or alter what is there.

Each migration revision declares what it brings (:class:`Revision`: whole new tables, and
columns it adds to tables that exist), and applies only what the database lacks, so a
database Better Auth wrote is upgraded in place and gets only what it has not got. The same
declaration, planned against the database's current state, is what ``authkeeper migrate
--sql`` prints without writing anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex, CreateTable


@dataclass(frozen=True)
class Revision:
    """What one revision brings. Definitions are the revision's own, frozen when it was
    written: a later change of the live tables is a later revision."""

    tables: Callable[[sa.MetaData], None] = lambda _md: None
    """Adds the revision's new tables (complete, with indexes and foreign keys) to a metadata."""
    columns: Mapping[str, Callable[[], Iterable[sa.Column[Any]]]] = field(default_factory=dict)
    """Table name → the columns the revision adds to it (nullable)."""
    indexes: Mapping[str, Callable[[], Iterable[sa.Index]]] = field(default_factory=dict)
    """Table name → the indexes the revision gives it when someone else made it (Better Auth),
    each created unless an index of that name is there. A table the revision creates gets the
    indexes its definition in ``tables`` declares instead."""


State = dict[str, set[str]]
"""Table name → its column names: what the database has (or, while planning, would have)."""


def current_state(conn: sa.Connection) -> State:
    inspector = sa.inspect(conn)
    return {name: {c["name"] for c in inspector.get_columns(name)} for name in inspector.get_table_names()}


def statements(conn: sa.Connection, revision: Revision, state: State) -> list[tuple[str, Any, str]]:
    """The DDL the revision needs against ``state`` (updated as if it ran), each as (what,
    executable, a line for the log)."""
    metadata = sa.MetaData()
    revision.tables(metadata)
    out: list[tuple[str, Any, str]] = []
    existed = set(state)
    for table in metadata.sorted_tables:
        if table.name in state:
            # Made by someone else (Better Auth, an older authkeeper): only what it lacks.
            for column in table.columns:
                if column.name not in state[table.name]:
                    out.append(_add_column(conn, table.name, column, state))
            continue
        out.append(("table", CreateTable(table), f"created table {table.name}"))
        out.extend(("index", CreateIndex(index), f"created index {index.name}") for index in table.indexes)
        state[table.name] = {c.name for c in table.columns}
    for name, make in revision.columns.items():
        if name not in state:
            raise RuntimeError(f"table {name} is missing: a revision it depends on has not run")
        for column in make():
            if column.name not in state[name]:
                out.append(_add_column(conn, name, column, state))
    for name, indexes in revision.indexes.items():
        if name not in existed:
            continue  # created above, with the indexes of its definition
        present = {ix["name"] for ix in sa.inspect(conn).get_indexes(name)} if name in _in_database(conn) else set()
        for index in indexes():
            if index.name not in present:
                out.append(_create_index(conn, name, index))
    return out


def _in_database(conn: sa.Connection) -> set[str]:
    return set(sa.inspect(conn).get_table_names())


def _create_index(conn: sa.Connection, table: str, index: sa.Index) -> tuple[str, Any, str]:
    """CREATE INDEX on a table this revision did not define (given by name, columns by name)."""
    quote = conn.dialect.identifier_preparer.quote
    columns = ", ".join(quote(c.name) for c in index.expressions if isinstance(c, sa.ColumnClause))
    unique = "UNIQUE " if index.unique else ""
    ddl = f"CREATE {unique}INDEX {quote(str(index.name))} ON {quote(table)} ({columns})"
    return ("index", sa.text(ddl), f"created index {index.name}")


def _add_column(conn: sa.Connection, table: str, column: sa.Column[Any], state: State) -> tuple[str, Any, str]:
    quote = conn.dialect.identifier_preparer.quote
    col_type = column.type.compile(dialect=conn.dialect)
    default = " DEFAULT FALSE" if isinstance(column.type, sa.Boolean) and not column.nullable else ""
    state[table].add(column.name)
    ddl = f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column.name)} {col_type}{default}"
    return ("column", sa.text(ddl), f"added column {table}.{column.name}")


def apply(conn: sa.Connection, revision: Revision) -> list[str]:
    """Run what the revision needs; a line per change, for the CLI to print."""
    done: list[str] = []
    for _kind, ddl, line in statements(conn, revision, current_state(conn)):
        conn.execute(ddl)
        done.append(line)
    return done


def render(conn: sa.Connection, ddl: Any) -> str:
    """The SQL text of one statement, for this database."""
    return str(ddl.compile(dialect=conn.dialect)).strip() + ";"


def sync_schema(conn: sa.Connection, metadata: sa.MetaData) -> list[str]:
    """Create missing tables of ``metadata`` and add missing columns (the user's additional
    fields, which are configuration rather than code, are kept in step so)."""

    def tables(md: sa.MetaData) -> None:
        for table in metadata.sorted_tables:
            table.to_metadata(md)

    return apply(conn, Revision(tables=tables))


def run(revision: Revision) -> None:
    """A revision's ``upgrade()``: apply it on Alembic's connection and note the changes."""
    from alembic import context, op

    context.config.attributes.setdefault("changes", []).extend(apply(op.get_bind(), revision))
