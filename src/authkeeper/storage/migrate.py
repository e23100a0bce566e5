"""Apply migrations: the core's Alembic revisions and each installed plugin's branch, then the
user's additional fields.

The core's revisions live in ``storage/migrations/versions`` (branch ``core``); a plugin
brings its own folder and branch label (:class:`~authkeeper.storage.schema.PluginSchema`), so
a plugin outside this package migrates like the built-in ones. Every revision creates what it
says, and only what the database lacks (:mod:`.schema_sync`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ..core.settings import Settings
from .schema import PluginSchema
from .schema_sync import Revision, current_state, render, statements, sync_schema
from .sql import async_url, make_engine, use_wal
from .tables import build_tables

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

_HERE = Path(__file__).parent / "migrations"
CORE_HEAD = "0003_two_factor_otp"
"""The core's latest revision (its name is historical: see the revision's docstring)."""
VERSION_TABLE = "authkeeper_version"
_LOCK_KEY = 0x61757468_6B656570 & 0x7FFFFFFFFFFFFFFF
"""PostgreSQL advisory lock held while migrating, so that workers starting at once migrate once."""


class SchemaError(RuntimeError):
    """The database schema is missing or behind and auto_migrate is off."""


def heads(schemas: Sequence[PluginSchema]) -> set[str]:
    """The revisions a current database is at: the core's and each plugin branch's latest."""
    return {CORE_HEAD} | {s.head for s in schemas if s.head}


def _pending(conn: sa.Connection, settings: Settings, schemas: Sequence[PluginSchema]) -> list[str]:
    inspector = sa.inspect(conn)
    existing = set(inspector.get_table_names())
    if VERSION_TABLE not in existing:
        return ["the database has no authkeeper schema"]
    versions = {row[0] for row in conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}")}
    missing = sorted(heads(schemas) - versions)
    if missing:
        return [
            f"the database schema lacks revision {', '.join(missing)} (it is at {', '.join(sorted(versions)) or 'none'})"
        ]
    found: list[str] = []
    for table in build_tables(settings.user.additional_fields, schemas).metadata.sorted_tables:
        if table.name not in existing:
            found.append(f"table {table.name} is missing")
            continue
        have = {c["name"] for c in inspector.get_columns(table.name)}
        found += [f"column {table.name}.{c.name} is missing" for c in table.columns if c.name not in have]
    return found


async def pending(settings: Settings, schemas: Sequence[PluginSchema] = ()) -> list[str]:
    """What the database lacks of the current schema; empty when it is current."""
    engine = make_engine(settings.database)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_pending, settings, schemas)
    finally:
        await engine.dispose()


async def ensure_schema(settings: Settings, schemas: Sequence[PluginSchema] = ()) -> list[str]:
    """At start-up: migrate when the schema is behind and ``database.auto_migrate`` is on, else
    raise :class:`SchemaError` (one line). Returns what changed."""
    missing = await pending(settings, schemas)
    if not missing:
        return []
    if not settings.database.auto_migrate:
        raise SchemaError(f"database: {missing[0]} (database.auto_migrate is off): run authkeeper migrate")
    return await migrate(settings, schemas)


def _alembic_config(conn: sa.Connection | None, schemas: Sequence[PluginSchema]) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    locations = [str(_HERE / "versions"), *(str(s.migrations) for s in schemas if s.migrations)]
    cfg.set_main_option("version_locations", " ".join(locations))
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["connection"] = conn
    return cfg


async def migrate(settings: Settings, schemas: Sequence[PluginSchema] = (), *, to: str = "heads") -> list[str]:
    """Bring the database to the current schema of the core and of the plugins whose
    ``schemas`` are given (every branch head, or revision ``to``); returns what changed."""
    engine = make_engine(settings.database)
    changes: list[str] = []

    def run(conn: sa.Connection) -> None:
        from alembic import command

        if conn.dialect.name == "postgresql":
            # Held to the end of the transaction: a second migrator waits, then finds nothing to do.
            # (SQLite: the transaction is BEGIN IMMEDIATE, which already admits one writer.)
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        cfg = _alembic_config(conn, schemas)
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(cfg)  # read once: the checks before and after share it
        _refuse_unknown_revisions(conn, script)
        command.upgrade(cfg, to)
        changes.extend(cfg.attributes.get("changes", ()))  # what the revisions created
        changes.extend(_own_code_revisions(cfg, script))
        if to == "heads":
            # Additional fields are configuration, not code: add their columns if missing.
            changes.extend(sync_schema(conn, build_tables(settings.user.additional_fields, schemas).metadata))

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


def _own_code_revisions(cfg: Config, script: ScriptDirectory) -> list[str]:
    """A line for each applied revision that runs code of its own (its changes are its own to
    tell; that it ran is ours)."""
    lines = []
    for revision_id in cfg.attributes.get("applied", ()):
        rev = script.get_revision(revision_id)
        if rev is not None and _revision_of(rev.module) is None:
            lines.append(f"ran revision {revision_id} (its own code)")
    return lines


def _refuse_unknown_revisions(conn: sa.Connection, script: ScriptDirectory) -> None:
    """A version row no installed branch knows is a plugin that was removed (or one not yet
    installed here): say so, rather than Alembic's "Can't locate revision"."""
    if VERSION_TABLE not in sa.inspect(conn).get_table_names():
        return
    known = {rev.revision for rev in script.walk_revisions()}
    rows = [row[0] for row in conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}")]
    unknown = sorted(r for r in rows if r not in known)
    if unknown:
        raise SchemaError(
            f"database: {VERSION_TABLE} names revision {', '.join(unknown)}, of a plugin that is not installed: "
            "install it again, or, once its tables are dropped, delete that row"
        )


async def plan(settings: Settings, schemas: Sequence[PluginSchema] = ()) -> list[str]:
    """The SQL :func:`migrate` would run, without writing anything: the database is opened
    read-only (SQLite ``mode=ro``, PostgreSQL read-only transactions) and each pending revision
    is planned against what the database has and what the revisions before it would add."""
    path = _sqlite_path(settings.database.url)
    if path is not None and not path.exists():
        return [f"-- {path} does not exist: every statement below would create it", *_empty_plan(settings, schemas)]
    engine = _read_only_engine(settings)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_plan, settings, schemas)
    finally:
        await engine.dispose()


def _read_only_engine(settings: Settings) -> AsyncEngine:
    """An engine that cannot write: SQLite opened ``mode=ro`` (no file is created, no journal
    mode switched), PostgreSQL sessions whose transactions are read-only."""
    url = async_url(settings.database.url)
    path = _sqlite_path(settings.database.url)
    if path is not None:
        return create_async_engine(f"sqlite+aiosqlite:///file:{path.resolve()}?mode=ro&uri=true")
    return create_async_engine(
        url, connect_args={"server_settings": {"timezone": "UTC", "default_transaction_read_only": "on"}}
    )


def _sqlite_path(url: str) -> Path | None:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _empty_plan(settings: Settings, schemas: Sequence[PluginSchema]) -> list[str]:
    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        return _plan(conn, settings, schemas)


def _plan(conn: sa.Connection, settings: Settings, schemas: Sequence[PluginSchema]) -> list[str]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(None, schemas))
    state = current_state(conn)
    current: tuple[str, ...] = ()
    if VERSION_TABLE in state:
        current = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_heads()
    # Pending: every revision that is not an ancestor of what the database is at, on every
    # branch (a plugin installed later has revisions no current head leads to).
    applied: set[str] = set()
    for head in current:
        if script.get_revision(head) is not None:
            applied.update(rev.revision for rev in script.iterate_revisions(head, "base"))
    todo = [rev for rev in reversed(list(script.walk_revisions())) if rev.revision not in applied]
    lines: list[str] = []
    if VERSION_TABLE not in state:
        lines.append(f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL PRIMARY KEY);")
    for rev in todo:
        declared = _revision_of(rev.module)
        if declared is None:  # a revision with code of its own: Alembic runs it, we cannot tell
            lines.append(f"-- revision {rev.revision}: runs its own code (not planned here)")
            continue
        planned = [render(conn, ddl) for _kind, ddl, _line in statements(conn, declared, state)]
        lines.append(f"-- revision {rev.revision}" + ("" if planned else ": nothing this database lacks"))
        lines += planned
    extra = [
        render(conn, ddl)
        for _k, ddl, _l in statements(
            conn, _everything(build_tables(settings.user.additional_fields, schemas).metadata), state
        )
    ]
    if extra:
        lines.append("-- additional fields")
        lines += extra
    if todo:
        lines.append(f"-- then {VERSION_TABLE} records {', '.join(sorted(heads(schemas)))}")
    return lines


def _revision_of(module: Any) -> Revision | None:
    found = getattr(module, "REVISION", None)
    return found if isinstance(found, Revision) else None


def _everything(metadata: sa.MetaData) -> Revision:
    def tables(md: sa.MetaData) -> None:
        for table in metadata.sorted_tables:
            table.to_metadata(md)

    return Revision(tables=tables)
