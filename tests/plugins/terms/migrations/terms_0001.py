"""The terms plugin's table and user column.

Revision ID: terms_0001
Revises:
Depends on: 0001_core
"""

import sqlalchemy as sa

from authkeeper.storage.schema_sync import Revision, run

revision = "terms_0001"
down_revision = None
branch_labels = ("terms",)
depends_on = "0001_core"


def tables(md: sa.MetaData) -> None:
    sa.Table("user", md, sa.Column("id", sa.Text, primary_key=True))  # for the foreign key only
    sa.Table(
        "termsAcceptance",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("userId", sa.Text, sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("acceptedAt", sa.DateTime(timezone=True), nullable=False),
    )


REVISION = Revision(tables=tables, columns={"user": lambda: [sa.Column("termsVersion", sa.Text)]})


def upgrade() -> None:
    run(REVISION)
