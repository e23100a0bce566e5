"""The admin plugin's columns (Better Auth's, spec §5.4): user.role, banned, banReason and
banExpires, nullable as Better Auth declares them (session.impersonatedBy is the core's).

Revision ID: admin_0001
Revises:
Depends on: 0001_core
"""

import sqlalchemy as sa

from authkeeper.storage.schema_sync import Revision, run

revision = "admin_0001"
down_revision = None
branch_labels = ("admin",)
depends_on = "0001_core"


def user_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("role", sa.Text),
        sa.Column("banned", sa.Boolean),
        sa.Column("banReason", sa.Text),
        sa.Column("banExpires", sa.DateTime(timezone=True)),
    ]


REVISION = Revision(columns={"user": user_columns})


def upgrade() -> None:
    run(REVISION)
