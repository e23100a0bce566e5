"""Apply migrations: Alembic revisions, then the user's additional fields."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..core.settings import Settings
from .schema_sync import sync_schema
from .sql import make_engine, use_wal
from .tables import build_tables

if TYPE_CHECKING:
    from alembic.config import Config

_HERE = Path(__file__).parent / "migrations"
HEAD = "0003_two_factor_otp"
"""The latest revision: a database there (with every configured column) needs no migration,
which :func:`pending` tells without loading Alembic."""
_LOCK_KEY = 0x61757468_6B656570 & 0x7FFFFFFFFFFFFFFF
"""PostgreSQL advisory lock held while migrating, so that workers starting at once migrate once."""


class SchemaError(RuntimeError):
    """The database schema is missing or behind and auto_migrate is off."""


def _pending(conn: sa.Connection, settings: Settings) -> list[str]:
    inspector = sa.inspect(conn)
    existing = set(inspector.get_table_names())
    if "authkeeper_version" not in existing:
        return ["the database has no authkeeper schema"]
    versions = [row[0] for row in conn.exec_driver_sql("SELECT version_num FROM authkeeper_version")]
    if versions != [HEAD]:
        return [f"the database schema is at revision {', '.join(versions) or 'none'}, not {HEAD}"]
    missing: list[str] = []
    for table in build_tables(settings.user.additional_fields).metadata.sorted_tables:
        if table.name not in existing:
            missing.append(f"table {table.name} is missing")
            continue
        have = {c["name"] for c in inspector.get_columns(table.name)}
        missing += [f"column {table.name}.{c.name} is missing" for c in table.columns if c.name not in have]
    return missing


async def pending(settings: Settings) -> list[str]:
    """What the database lacks of the current schema; empty when it is current."""
    engine = make_engine(settings.database)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_pending, settings)
    finally:
        await engine.dispose()


async def ensure_schema(settings: Settings) -> list[str]:
    """At start-up: migrate when the schema is behind and ``database.auto_migrate`` is on, else
    raise :class:`SchemaError` (one line). Returns what changed."""
    missing = await pending(settings)
    if not missing:
        return []
    if not settings.database.auto_migrate:
        raise SchemaError(f"database: {missing[0]} (database.auto_migrate is off): run authkeeper migrate")
    return await migrate(settings)


def _alembic_config(conn: sa.Connection) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    cfg.attributes["connection"] = conn
    return cfg


async def migrate(settings: Settings) -> list[str]:
    """Bring the database to the current schema; returns what changed."""
    engine = make_engine(settings.database)
    changes: list[str] = []

    def run(conn: sa.Connection) -> None:
        from alembic import command

        if conn.dialect.name == "postgresql":
            # Held to the end of the transaction: a second migrator waits, then finds nothing to do.
            # (SQLite: the transaction is BEGIN IMMEDIATE, which already admits one writer.)
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        cfg = _alembic_config(conn)
        command.upgrade(cfg, "head")
        changes.extend(cfg.attributes.get("changes", ()))  # what the revisions created
        # Additional fields are configuration, not code: add their columns if missing.
        changes.extend(sync_schema(conn, build_tables(settings.user.additional_fields).metadata))

    try:
        async with engine.connect() as conn:
            await conn.execution_options(authkeeper_write=True)
            async with conn.begin():
                await conn.run_sync(run)
        if engine.dialect.name == "sqlite":
            await use_wal(engine)
    finally:
        await engine.dispose()
    return changes
