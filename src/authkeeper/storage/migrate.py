"""Apply migrations: Alembic revisions, then the user's additional fields."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from ..core.settings import Settings
from .schema_sync import sync_schema
from .sql import make_engine
from .tables import build_tables

_HERE = Path(__file__).parent / "migrations"


def _alembic_config(conn: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    cfg.attributes["connection"] = conn
    return cfg


async def migrate(settings: Settings) -> list[str]:
    """Bring the database to the current schema; returns what changed."""
    engine = make_engine(settings.database)
    changes: list[str] = []

    def run(conn: sa.Connection) -> None:
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
    finally:
        await engine.dispose()
    return changes
