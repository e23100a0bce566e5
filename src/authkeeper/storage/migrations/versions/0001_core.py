"""Better Auth's core tables (user, session, account, verification) and authkeeper's lockout.

Creates what is missing and leaves what exists alone, so a database Better Auth wrote is
upgraded in place. The plugins' columns and tables come with their own branches.

Revision ID: 0001_core
Revises:
"""

import sqlalchemy as sa

from authkeeper.storage.schema_sync import Revision, run

revision = "0001_core"
down_revision = None
branch_labels = ("core",)
depends_on = None

ts = sa.DateTime(timezone=True)


def tables(md: sa.MetaData) -> None:
    sa.Table(
        "user",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False, unique=True),
        sa.Column("emailVerified", sa.Boolean, nullable=False, default=False),
        sa.Column("image", sa.Text),
        sa.Column("createdAt", ts, nullable=False),
        sa.Column("updatedAt", ts, nullable=False),
    )
    sa.Table(
        "session",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("expiresAt", ts, nullable=False),
        sa.Column("token", sa.Text, nullable=False, unique=True),
        sa.Column("createdAt", ts, nullable=False),
        sa.Column("updatedAt", ts, nullable=False),
        sa.Column("ipAddress", sa.Text),
        sa.Column("userAgent", sa.Text),
        sa.Column("userId", sa.Text, sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("impersonatedBy", sa.Text),  # who holds it as the user (Better Auth's column)
    )
    sa.Table(
        "account",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("accountId", sa.Text, nullable=False),
        sa.Column("providerId", sa.Text, nullable=False),
        sa.Column("userId", sa.Text, sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("accessToken", sa.Text),
        sa.Column("refreshToken", sa.Text),
        sa.Column("idToken", sa.Text),
        sa.Column("accessTokenExpiresAt", ts),
        sa.Column("refreshTokenExpiresAt", ts),
        sa.Column("scope", sa.Text),
        sa.Column("password", sa.Text),
        sa.Column("createdAt", ts, nullable=False),
        sa.Column("updatedAt", ts, nullable=False),
    )
    sa.Table(
        "verification",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("identifier", sa.Text, nullable=False, index=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("expiresAt", ts, nullable=False),
        sa.Column("createdAt", ts, nullable=False),
        sa.Column("updatedAt", ts, nullable=False),
    )
    sa.Table(
        "lockout",
        md,
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("windowStart", ts, nullable=False),
    )


REVISION = Revision(tables=tables)


def upgrade() -> None:
    run(REVISION)
