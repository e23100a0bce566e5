"""Migrations: each revision creates what it says; the result is the merged schema; old
databases upgrade; ``--sql`` plans without writing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from authkeeper.auth import default_plugins, migration_plan, schemas_of
from authkeeper.core.settings import Settings
from authkeeper.storage import migrate as module
from authkeeper.storage.schema_sync import sync_schema
from authkeeper.storage.sql import async_url, make_engine
from authkeeper.storage.tables import build_tables
from tests.conftest import create_pg_database, drop_pg_database, fast_settings

pytestmark = pytest.mark.anyio

SCHEMAS = schemas_of(default_plugins(Settings()))


async def shape(url: str) -> dict[str, Any]:
    """Tables → columns (generic type, nullable), foreign keys, indexes and unique columns."""
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_shape)
    finally:
        await engine.dispose()


def _shape(conn: sa.Connection) -> dict[str, Any]:
    inspector = sa.inspect(conn)
    return {name: _table_shape(inspector, name) for name in inspector.get_table_names() if name != module.VERSION_TABLE}


def _table_shape(inspector: Any, name: str) -> dict[str, Any]:
    columns = {c["name"]: (type(c["type"]).__name__.lower(), c["nullable"]) for c in inspector.get_columns(name)}
    fks = sorted((tuple(fk["constrained_columns"]), fk["referred_table"]) for fk in inspector.get_foreign_keys(name))
    indexes = sorted(tuple(ix["column_names"]) for ix in inspector.get_indexes(name))
    uniques = sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(name))
    return {"columns": columns, "fks": fks, "indexes": indexes, "uniques": uniques}


def revisions_base_first() -> list[str]:
    script = ScriptDirectory.from_config(module._alembic_config(None, SCHEMAS))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


async def test_an_empty_database_upgraded_revision_by_revision_has_the_merged_schema(
    db_url: str, tmp_path: Path
) -> None:
    settings = fast_settings(db_url)
    seen_changes: list[str] = []
    for revision in revisions_base_first():
        seen_changes += await module.migrate(settings, SCHEMAS, to=revision)
    assert any(c == "created table user" for c in seen_changes)
    assert await module.pending(settings, SCHEMAS) == []
    # The same schema as the live tables of the core and both plugins, made in one go on the
    # same kind of database.
    reference = f"sqlite:///{tmp_path / 'reference.db'}" if db_url.startswith("sqlite") else create_pg_database()
    try:
        engine = create_async_engine(async_url(reference))
        async with engine.begin() as conn:
            await conn.run_sync(sync_schema, build_tables((), SCHEMAS).metadata)
        await engine.dispose()
        assert await shape(db_url) == await shape(reference)
    finally:
        if not db_url.startswith("sqlite"):
            drop_pg_database(reference)


async def test_each_revision_brings_only_what_it_declares(tmp_path: Path) -> None:
    settings = fast_settings(f"sqlite:///{tmp_path / 'a.db'}")
    by_revision: dict[str, list[str]] = {}
    for revision in revisions_base_first():
        by_revision[revision] = await module.migrate(settings, SCHEMAS, to=revision)
    assert "created table user" in by_revision["0001_core"]
    assert by_revision["0002_plugins"] == [
        "created table auditEvent",
        *[c for c in by_revision["0002_plugins"] if c.startswith("created index")],
    ]
    assert by_revision["0003_two_factor_otp"] == []
    assert set(by_revision["admin_0001"]) == {
        "added column user.role",
        "added column user.banned",
        "added column user.banReason",
        "added column user.banExpires",
    }
    assert "created table twoFactor" in by_revision["two_factor_0001"]
    assert "added column user.twoFactorEnabled" in by_revision["two_factor_0001"]
    assert by_revision["two_factor_0002_otp"] == ["added column twoFactor.otpEnabled"]


async def test_a_database_stamped_by_the_old_linear_chain_upgrades_cleanly(db_url: str) -> None:
    """Databases migrated before the plugins had branches: everything in place except, at
    0002_plugins, the column 0003 added; the version table names one old revision."""
    settings = fast_settings(db_url)
    live = build_tables((), SCHEMAS).metadata
    metadata = sa.MetaData()
    for table in live.sorted_tables:
        keep = [c._copy() for c in table.columns if (table.name, c.name) != ("twoFactor", "otpEnabled")]
        sa.Table(table.name, metadata, *keep)  # as 0002_plugins left it: no otpEnabled yet

    def old(conn: sa.Connection) -> None:
        sync_schema(conn, metadata)
        conn.exec_driver_sql(f"CREATE TABLE {module.VERSION_TABLE} (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        conn.exec_driver_sql(f"INSERT INTO {module.VERSION_TABLE} VALUES ('0002_plugins')")

    engine = make_engine(settings.database)
    async with engine.begin() as conn:
        await conn.run_sync(old)
    await engine.dispose()
    assert await module.pending(settings, SCHEMAS)
    changes = await module.migrate(settings, SCHEMAS)
    assert changes == ["added column twoFactor.otpEnabled"]
    assert await module.pending(settings, SCHEMAS) == []
    assert await module.migrate(settings, SCHEMAS) == []


async def test_the_sql_plan_writes_nothing(db_url: str, tmp_path: Path) -> None:
    settings = fast_settings(db_url)
    before = await shape(db_url) if not db_url.startswith("sqlite") else None
    lines = await migration_plan(settings)
    text = "\n".join(lines)
    assert 'CREATE TABLE "user"' in text or "CREATE TABLE user" in text
    assert "otpEnabled" in text and "-- revision two_factor_0002_otp" in text
    if db_url.startswith("sqlite"):
        assert not Path(db_url.removeprefix("sqlite:///")).exists()  # not even created
    else:
        assert await shape(db_url) == before
    # After migrating, the plan is empty of statements.
    from authkeeper import migrate

    await migrate(settings)
    lines = await migration_plan(settings)
    assert not [line for line in lines if not line.startswith("--")], lines
