"""The plumbing every SQL port shares: connections for one read or one write, the unit of
work, and conditions (:data:`~authkeeper.core.queries.Where`) as SQL."""

from __future__ import annotations

import asyncio
import operator
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Self, cast

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..core import errors
from ..core.queries import AnyOf, Compare, Where
from .rows import check_fields
from .tables import Tables


def is_busy(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _is_locked(exc: OperationalError) -> bool:
    return is_busy(exc.orig) if exc.orig is not None else False


_OPS = {"ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}


def condition(col: sa.ColumnElement[Any], cond: Any) -> sa.ColumnElement[bool]:
    if isinstance(cond, AnyOf):
        return sa.or_(*(condition(col, option) for option in cond.options))
    if isinstance(cond, Compare):
        return cast(sa.ColumnElement[bool], _OPS[cond.op](col, cond.value))
    return col.is_(None) if cond is None else col == cond


def where_clause(table: sa.Table, where: Where | None) -> list[sa.ColumnElement[bool]]:
    """Every entry of ``where`` as a condition on ``table`` (UnknownFieldError for a column it lacks)."""
    if not where:
        return []
    check_fields(table, where)
    return [condition(table.c[name], cond) for name, cond in where.items()]


class SqlBase:
    """One store: the engine's own (each call a connection of its own), or bound to the
    connection of one transaction (:meth:`transaction`)."""

    def __init__(
        self,
        engine: AsyncEngine,
        tables: Tables,
        conn: AsyncConnection | None = None,
        prepared: dict[str, Any] | None = None,
    ) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._conn = conn
        self._pg_pool: Any = None
        self._pg_lock = asyncio.Lock()
        self.t = tables
        self._prepared = prepared if prepared is not None else self._prepare()

    def use_tables(self, tables: Tables) -> None:
        """Adopt the merged schema of the installed plugins (the composition root calls it on a
        store it is given)."""
        self.t = tables
        self._prepared = self._prepare()

    def _prepare(self) -> dict[str, Any]:
        """Statements compiled once per schema (shared with the transactions' stores)."""
        return {}

    # -- connections ----------------------------------------------------------------------
    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        if self._conn is not None:
            yield self._conn
            return
        try:
            async with self.engine.connect() as conn:
                if self.dialect == "postgresql":
                    # One statement needs no transaction: skip the BEGIN/ROLLBACK round trips.
                    await conn.execution_options(isolation_level="AUTOCOMMIT")
                yield conn
        except OperationalError as exc:
            if _is_locked(exc):
                raise errors.AuthError(errors.SERVICE_UNAVAILABLE, retry_after=1) from None
            raise

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        if self._conn is not None:
            yield self._conn
            return
        try:
            async with self.engine.connect() as conn:
                await conn.execution_options(authkeeper_write=True)
                async with conn.begin():
                    yield conn
        except OperationalError as exc:
            if _is_locked(exc):
                raise errors.AuthError(errors.SERVICE_UNAVAILABLE, retry_after=1) from None
            raise

    # -- the unit of work -----------------------------------------------------------------
    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Self]:
        async with self._write() as conn:
            yield type(self)(self.engine, self.t, conn, self._prepared)

    async def lock(self, key: str) -> None:
        if self._conn is None:
            raise RuntimeError("lock() needs a transaction")
        if self.dialect == "postgresql":
            await self._conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})

    async def ping(self) -> None:
        async with self._read() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def close(self) -> None:
        if self._pg_pool is not None:
            await self._pg_pool.close()
            self._pg_pool = None
        await self.engine.dispose()

    def _insert(self, table: sa.Table) -> Any:
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
