"""What the jwt plugin keeps in the database: Better Auth's ``jwks`` table (one row per key:
the public JWK, the private JWK encrypted with the secret, when it was made and when it stops
signing) with one column of authkeeper's, ``successorOf``. Its Alembic branch (``migrations/``)
brings them to a database, a Better Auth one included."""

from __future__ import annotations

import sqlalchemy as sa

from ...storage.schema import PluginSchema
from ...storage.tables import UTCDateTime
from . import migrations

TABLE = "jwks"


def _tables(md: sa.MetaData) -> None:
    sa.Table(
        TABLE,
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("publicKey", sa.Text, nullable=False),
        sa.Column("privateKey", sa.Text, nullable=False),
        sa.Column("createdAt", UTCDateTime, nullable=False),
        sa.Column("expiresAt", UTCDateTime),
        sa.Column("alg", sa.Text),
        sa.Column("crv", sa.Text),
        # authkeeper's own: the id of the key this one replaces ("" for a first key), unique, so
        # that of the workers that rotate at once exactly one inserts the successor. NULL in
        # the rows Better Auth writes.
        sa.Column("successorOf", sa.Text),
        sa.Index("jwks_successorOf_uidx", "successorOf", unique=True),
    )


SCHEMA = PluginSchema(
    tables=_tables,
    migrations=migrations.LOCATION,
    branch=migrations.BRANCH,
    head=migrations.HEAD,
)
