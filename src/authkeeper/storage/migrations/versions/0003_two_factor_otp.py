"""twoFactor.otpEnabled: a user of an authenticator app who also enrolled emailed codes.

Revision ID: 0003_two_factor_otp
Revises: 0002_plugins
"""

from alembic import context, op

from authkeeper.storage.schema_sync import sync_schema
from authkeeper.storage.tables import build_tables

revision = "0003_two_factor_otp"
down_revision = "0002_plugins"


def upgrade() -> None:
    changes = sync_schema(op.get_bind(), build_tables().metadata)
    context.config.attributes.setdefault("changes", []).extend(changes)
