"""The admin plugin's columns (Better Auth's, spec §5.4): user.role, banned, banReason,
banExpires and session.impersonatedBy, nullable as Better Auth declares them.

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


def session_columns() -> list[sa.Column[object]]:
    return [sa.Column("impersonatedBy", sa.Text)]


REVISION = Revision(columns={"user": user_columns, "session": session_columns})


def upgrade() -> None:
    run(REVISION)
