"""The audit log (auditEvent).

Until the plugins had branches of their own, this revision also brought the two-factor
plugin's table and column; those are now the two_factor branch's first revision, which finds
them present on a database that ran this one before.

Revision ID: 0002_plugins
Revises: 0001_core
"""

import sqlalchemy as sa

from authkeeper.storage.schema_sync import Revision, run

revision = "0002_plugins"
down_revision = "0001_core"
branch_labels = None
depends_on = None

ts = sa.DateTime(timezone=True)


def tables(md: sa.MetaData) -> None:
    # No foreign key on purpose: a removed user's history stays.
    sa.Table(
        "auditEvent",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("createdAt", ts, nullable=False, index=True),
        sa.Column("event", sa.Text, nullable=False, index=True),
        sa.Column("actorId", sa.Text),
        sa.Column("userId", sa.Text, index=True),
        sa.Column("ipAddress", sa.Text),
        sa.Column("userAgent", sa.Text),
        sa.Column("details", sa.Text),
    )


REVISION = Revision(tables=tables)


def upgrade() -> None:
    run(REVISION)
