"""The tables of the in-memory store, and the constraints the SQL schema declares: primary and
unique keys, foreign keys (checked on write, cascading on delete), NOT NULL and defaults.

Rows are dictionaries keyed by column name and never changed in place: a write replaces the row
in a copy of its table (copy-on-write), so a transaction sees its own writes, the others see the
committed tables, and a commit swaps the copies in at once. Write transactions run one at a time
(under one lock, as SQLite's ``BEGIN IMMEDIATE``), so a commit never races another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..core.ports import DuplicateError
from .rows import check_fields
from .tables import Tables

Key = tuple[Any, ...]
Row = dict[str, Any]
Table = dict[Key, Row]


@dataclass(frozen=True)
class _Shape:
    """One table's columns and constraints, read from its SQLAlchemy declaration."""

    table: sa.Table
    columns: tuple[str, ...]
    key: tuple[str, ...]
    unique: tuple[tuple[str, ...], ...]
    required: frozenset[str]
    defaults: Mapping[str, Any]
    parents: tuple[tuple[str, str, str], ...]
    """(column, parent table, parent column) of each foreign key."""

    @classmethod
    def of(cls, table: sa.Table) -> _Shape:
        unique = [tuple(c.name for c in table.primary_key.columns)]
        unique += [(c.name,) for c in table.c if c.unique]
        unique += [
            tuple(c.name for c in con.columns) for con in table.constraints if isinstance(con, sa.UniqueConstraint)
        ]
        unique += [tuple(c.name for c in ix.columns) for ix in table.indexes if ix.unique]
        defaults = {
            c.name: c.default.arg for c in table.c if isinstance(c.default, sa.ColumnDefault) and c.default.is_scalar
        }
        return cls(
            table=table,
            columns=tuple(c.name for c in table.c),
            key=tuple(c.name for c in table.primary_key.columns),
            unique=tuple(dict.fromkeys(unique)),
            required=frozenset(c.name for c in table.c if not c.nullable and c.name not in defaults),
            defaults=defaults,
            parents=tuple((fk.parent.name, fk.column.table.name, fk.column.name) for fk in table.foreign_keys),
        )


class Database:
    """The committed tables and what every store of one :class:`MemoryStore` shares."""

    def __init__(self, tables: Tables) -> None:
        self.lock = asyncio.Lock()
        self.tables: dict[str, Table] = {}
        self.use(tables)

    def use(self, tables: Tables) -> None:
        """Take the merged schema: rows of tables it keeps stay, with new columns empty."""
        self.schema = tables
        self.shapes = {t.name: _Shape.of(t) for t in tables.metadata.sorted_tables}
        self.children: dict[str, list[tuple[str, str, str]]] = {name: [] for name in self.shapes}
        for name, shape in self.shapes.items():
            for column, parent, parent_column in shape.parents:
                self.children[parent].append((name, column, parent_column))
        old, self.tables = self.tables, {}
        for name, shape in self.shapes.items():
            self.tables[name] = {k: {c: r.get(c) for c in shape.columns} for k, r in old.get(name, {}).items()}


@dataclass
class Work:
    """A write transaction's copies of the tables it changed, and the undo of the statement
    under way (a statement that fails changes nothing, as in SQL)."""

    db: Database
    copies: dict[str, Table] = field(default_factory=dict)
    undo: list[tuple[str, Key, Row | None]] | None = None
    done: bool = False

    # -- reading --------------------------------------------------------------------------
    def rows(self, name: str) -> Table:
        found = self.copies.get(name)
        return found if found is not None else self.db.tables[name]

    def scan(self, name: str, match: Callable[[Row], bool]) -> list[Row]:
        return [row for row in self.rows(name).values() if match(row)]

    # -- writing --------------------------------------------------------------------------
    def _put(self, name: str, key: Key, row: Row | None) -> None:
        if self.done:
            raise RuntimeError("the transaction has ended: write through the store, or a new transaction")
        table = self.copies.get(name)
        if table is None:
            table = self.copies[name] = dict(self.db.tables[name])
        if self.undo is not None:
            self.undo.append((name, key, table.get(key)))
        if row is None:
            table.pop(key, None)
        else:
            table[key] = row

    @contextmanager
    def statement(self) -> Iterator[None]:
        """All of a statement's writes, or none."""
        self.undo = []
        try:
            yield
        except BaseException:
            for name, key, old in reversed(self.undo):
                if old is None:
                    self.copies[name].pop(key, None)
                else:
                    self.copies[name][key] = old
            raise
        finally:
            self.undo = None

    def commit(self) -> None:
        self.db.tables.update(self.copies)
        self.copies = {}
        self.done = True

    def insert(self, name: str, values: Mapping[str, Any]) -> Row:
        shape = self.db.shapes[name]
        check_fields(shape.table, values)
        row = {c: values.get(c, shape.defaults.get(c)) for c in shape.columns}
        self._check(name, shape, row, None)
        self._put(name, tuple(row[c] for c in shape.key), row)
        return row

    def update(self, name: str, old: Row, values: Mapping[str, Any]) -> Row:
        shape = self.db.shapes[name]
        check_fields(shape.table, values)
        row = {**old, **values}
        key = tuple(old[c] for c in shape.key)
        if tuple(row[c] for c in shape.key) != key:
            raise ValueError(f"{name}: a primary key is never updated")
        self._check(name, shape, row, key)
        self._put(name, key, row)
        return row

    def delete(self, name: str, row: Row) -> None:
        """Delete ``row`` and, first, the rows whose foreign keys name it."""
        for child, column, parent_column in self.db.children[name]:
            value = row[parent_column]
            for found in [r for r in self.rows(child).values() if r[column] == value]:
                self.delete(child, found)
        self._put(name, tuple(row[c] for c in self.db.shapes[name].key), None)

    def _check(self, name: str, shape: _Shape, row: Row, key: Key | None) -> None:
        empty = [c for c in shape.required if row[c] is None]
        if empty:
            raise DuplicateError(f"{name}.{empty[0]} cannot be empty")
        for columns in shape.unique:
            values = tuple(row[c] for c in columns)
            if any(v is None for v in values):
                continue
            for other_key, other in self.rows(name).items():
                if other_key != key and tuple(other[c] for c in columns) == values:
                    raise DuplicateError(f"{name}.{','.join(columns)} is taken")
        for column, parent, parent_column in shape.parents:
            value = row[column]
            if value is None:
                continue
            parents = self.rows(parent)
            if self.db.shapes[parent].key == (parent_column,):
                present = (value,) in parents
            else:
                present = any(r[parent_column] == value for r in parents.values())
            if not present:
                raise DuplicateError(f"{name}.{column}: no {parent} {value!r}")
