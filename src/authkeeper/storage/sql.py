"""SQLAlchemy 2 async store for SQLite (aiosqlite) and PostgreSQL (asyncpg).

SQLite runs in WAL mode with a busy timeout; write transactions start with
``BEGIN IMMEDIATE`` so two writers never deadlock upgrading a read lock, and a lock that
outlasts the timeout becomes a 503, never a 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ..core.settings import AdditionalField, DatabaseSettings
from .schema import PluginSchema
from .sql_base import is_busy
from .sql_records import SqlRecords
from .sql_sessions import SqlSessions
from .sql_users import SqlUsers
from .tables import build_tables


class StorageURLError(ValueError):
    """The database URL cannot be used."""


def async_url(url: str) -> str:
    """Map a plain database URL to its async driver."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageURLError(f"invalid database URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    else:
        raise StorageURLError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")
    return parsed.render_as_string(hide_password=False)


def make_engine(settings: DatabaseSettings) -> AsyncEngine:
    url = async_url(settings.url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, pool_size=5, max_overflow=5)
        timeout = settings.busy_timeout_ms

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            # The timeout first: switching a new file to WAL takes a lock that several processes
            # starting at once (workers migrating) must wait for, not fail on.
            cur.execute(f"PRAGMA busy_timeout={int(timeout)}")
            cur.execute("PRAGMA journal_mode")
            if str(cur.fetchone()[0]).lower() != "wal":
                # The switch needs the file to itself, and SQLite answers "locked" at once
                # (without waiting) when another connection is writing. WAL is a property of
                # the file: this connection goes on in the current mode, and the migration
                # (or the next connection) makes the switch.
                try:
                    cur.execute("PRAGMA journal_mode=WAL")
                except Exception as exc:  # the driver's OperationalError, wrapped or not
                    if not is_busy(exc):
                        raise
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            immediate = conn.get_execution_options().get("authkeeper_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # Sessions in UTC: a Better Auth schema made for Prisma or Drizzle has ``timestamp``
    # columns (no time zone) holding UTC, and PostgreSQL converts to and from them, and
    # compares them with timestamptz values, in the session's TimeZone.
    return create_async_engine(
        url,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        connect_args={"server_settings": {"timezone": "UTC"}},
    )


async def use_wal(engine: AsyncEngine, *, attempts: int = 50) -> bool:
    """Switch a SQLite file to write-ahead logging, retrying while another connection holds it
    (SQLite refuses the switch at once rather than waiting). The mode stays with the file.
    False when the file stayed in its journal mode (it works so, with less concurrency)."""
    for attempt in range(attempts):
        try:
            async with engine.connect() as conn:
                raw = await conn.get_raw_connection()
                driver: Any = raw.driver_connection  # aiosqlite's: outside any transaction
                async with driver.execute("PRAGMA journal_mode=WAL") as cursor:
                    row = await cursor.fetchone()
                if row and str(row[0]).lower() == "wal":
                    return True
        except Exception as exc:  # the driver's error, not SQLAlchemy's
            if not is_busy(exc):
                raise
        await asyncio.sleep(min(0.01 * 2**attempt, 0.2))
    return False


class SqlStore(SqlUsers, SqlSessions, SqlRecords):
    """The :class:`~authkeeper.core.ports.Store` on SQLAlchemy Core: one class per port
    (``sql_users``, ``sql_sessions``, ``sql_records``) over the plumbing of ``sql_base``."""

    def _prepare(self) -> dict[str, Any]:
        return self._prepare_sessions()


def create_store(
    settings: DatabaseSettings,
    additional_fields: Sequence[AdditionalField] = (),
    schemas: Sequence[PluginSchema] = (),
) -> SqlStore:
    """A store for ``settings.url`` over the core's tables merged with the plugins' ``schemas``;
    raises :class:`StorageURLError` for an unusable URL."""
    return SqlStore(make_engine(settings), build_tables(additional_fields, schemas))
