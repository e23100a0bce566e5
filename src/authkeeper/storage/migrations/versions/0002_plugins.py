"""Two-factor (twoFactor table, user.twoFactorEnabled) and the audit log (auditEvent).

Revision ID: 0002_plugins
Revises: 0001_core
"""

from alembic import context, op

from authkeeper.storage.schema_sync import sync_schema
from authkeeper.storage.tables import build_tables

revision = "0002_plugins"
down_revision = "0001_core"


def upgrade() -> None:
    changes = sync_schema(op.get_bind(), build_tables().metadata)
    context.config.attributes.setdefault("changes", []).extend(changes)
