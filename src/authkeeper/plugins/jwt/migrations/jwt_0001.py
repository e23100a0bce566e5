"""Better Auth's jwks table, with authkeeper's jwks.successorOf (the key a key replaces, unique:
of the workers that rotate at once, one inserts the successor and the others read it).

Revision ID: jwt_0001
Revises:
Depends on: 0001_core
"""

import sqlalchemy as sa

from authkeeper.storage.schema_sync import Revision, run

revision = "jwt_0001"
down_revision = None
branch_labels = ("jwt",)
depends_on = "0001_core"


def tables(md: sa.MetaData) -> None:
    sa.Table(
        "jwks",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("publicKey", sa.Text, nullable=False),
        sa.Column("privateKey", sa.Text, nullable=False),
        sa.Column("createdAt", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expiresAt", sa.DateTime(timezone=True)),
        sa.Column("alg", sa.Text),
        sa.Column("crv", sa.Text),
        sa.Column("successorOf", sa.Text),
        sa.Index("jwks_successorOf_uidx", "successorOf", unique=True),
    )


def indexes() -> list[sa.Index]:
    # A jwks table Better Auth made gets the column above and this index too.
    return [sa.Index("jwks_successorOf_uidx", sa.column("successorOf"), unique=True)]


REVISION = Revision(tables=tables, indexes={"jwks": indexes})


def upgrade() -> None:
    run(REVISION)
