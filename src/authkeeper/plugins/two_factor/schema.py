"""What the two-factor plugin keeps in the database: Better Auth's ``twoFactor`` table (one row
per user: the encrypted TOTP secret and backup codes) with two columns of authkeeper's, and
``user.twoFactorEnabled``. Its Alembic branch (``migrations/``) brings them to a database."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ...core.settings import Settings
from ...storage.schema import PluginSchema
from ...storage.tables import UTCDateTime
from . import migrations

TABLE = "twoFactor"
ENABLED = "twoFactorEnabled"
"""The user column: two-factor is on."""


def _tables(md: sa.MetaData) -> None:
    sa.Table(
        TABLE,
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("secret", sa.Text, nullable=False, index=True),
        sa.Column("backupCodes", sa.Text, nullable=False),
        sa.Column("userId", sa.Text, sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("verified", sa.Boolean),
        sa.Column("failedVerificationCount", sa.Integer),
        sa.Column("lockedUntil", UTCDateTime),
        # authkeeper's own: the last accepted TOTP step, so each code works once.
        sa.Column("lastTotpCounter", sa.BigInteger),
        # authkeeper's own: this user of an authenticator app also enrolled emailed codes
        # (NULL in Better Auth's rows: the app alone).
        sa.Column("otpEnabled", sa.Boolean),
    )


def _user_columns() -> tuple[sa.Column[Any], ...]:
    return (sa.Column(ENABLED, sa.Boolean),)


def _user_defaults(_settings: Settings) -> Mapping[str, Any]:
    return {ENABLED: False}


SCHEMA = PluginSchema(
    tables=_tables,
    user_columns=_user_columns,
    user_defaults=_user_defaults,
    protected_user_fields=frozenset({ENABLED}),
    user_flags=frozenset({ENABLED}),
    migrations=migrations.LOCATION,
    branch=migrations.BRANCH,
    head=migrations.HEAD,
)
