"""Better Auth's twoFactor table and user.twoFactorEnabled, with authkeeper's
twoFactor.lastTotpCounter (the last accepted TOTP step, so each code works once).

Revision ID: two_factor_0001
Revises:
Depends on: 0001_core
"""

import sqlalchemy as sa

from authkeeper.storage.schema_sync import Revision, run

revision = "two_factor_0001"
down_revision = None
branch_labels = ("two_factor",)
depends_on = "0001_core"


def tables(md: sa.MetaData) -> None:
    sa.Table("user", md, sa.Column("id", sa.Text, primary_key=True))  # for the foreign key only
    sa.Table(
        "twoFactor",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("secret", sa.Text, nullable=False, index=True),
        sa.Column("backupCodes", sa.Text, nullable=False),
        sa.Column("userId", sa.Text, sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("verified", sa.Boolean),
        sa.Column("failedVerificationCount", sa.Integer),
        sa.Column("lockedUntil", sa.DateTime(timezone=True)),
        sa.Column("lastTotpCounter", sa.BigInteger),
    )


def user_columns() -> list[sa.Column[object]]:
    return [sa.Column("twoFactorEnabled", sa.Boolean)]


REVISION = Revision(tables=tables, columns={"user": user_columns})


def upgrade() -> None:
    run(REVISION)
