"""Better Auth's core tables (user, session, account, verification) and lockout.

Creates what is missing and leaves what exists alone, so a database Better Auth wrote is
upgraded in place.

Revision ID: 0001_core
Revises:
"""

from alembic import context, op

from authkeeper.storage.schema_sync import sync_schema
from authkeeper.storage.tables import build_tables

revision = "0001_core"
down_revision = None


def upgrade() -> None:
    changes = sync_schema(op.get_bind(), build_tables().metadata)
    context.config.attributes.setdefault("changes", []).extend(changes)
