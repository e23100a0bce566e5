"""Better Auth's tables and column names (spec §5), as SQLAlchemy Core metadata.

Names are Better Auth's own (singular tables, camelCase columns), so an existing Better
Auth database is served as it is. ``lockout`` is authkeeper's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from ..core.settings import AdditionalField


class UTCDateTime(TypeDecorator[object]):
    """Timezone-aware UTC on the way out, whatever the column stores."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        if value is not None and dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


_TYPES: dict[str, Any] = {
    "string": sa.Text,
    "number": sa.Float,
    "boolean": sa.Boolean,
    "date": UTCDateTime,
}


def column_for(spec: AdditionalField) -> sa.Column[object]:
    return sa.Column(spec.name, _TYPES[spec.type], nullable=True)


@dataclass(frozen=True)
class Tables:
    metadata: sa.MetaData
    user: sa.Table
    session: sa.Table
    account: sa.Table
    verification: sa.Table
    lockout: sa.Table
    two_factor: sa.Table
    audit: sa.Table


def build_tables(additional_fields: tuple[AdditionalField, ...] = ()) -> Tables:
    md = sa.MetaData()
    ts = UTCDateTime
    user = sa.Table(
        "user",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False, unique=True),
        sa.Column("emailVerified", sa.Boolean, nullable=False, default=False),
        sa.Column("image", sa.Text),
        sa.Column("createdAt", ts, nullable=False),
        sa.Column("updatedAt", ts, nullable=False),
        # The admin plugin's columns (spec §5.4), nullable as Better Auth declares them.
        sa.Column("role", sa.Text),
        sa.Column("banned", sa.Boolean),
        sa.Column("banReason", sa.Text),
        sa.Column("banExpires", ts),
        # The two-factor plugin's column.
        sa.Column("twoFactorEnabled", sa.Boolean),
        *(column_for(f) for f in additional_fields),
    )
    session = sa.Table(
        "session",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("expiresAt", ts, nullable=False),
        sa.Column("token", sa.Text, nullable=False, unique=True),
        sa.Column("createdAt", ts, nullable=False),
        sa.Column("updatedAt", ts, nullable=False),
        sa.Column("ipAddress", sa.Text),
        sa.Column("userAgent", sa.Text),
        sa.Column(
            "userId", sa.Text, sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column("impersonatedBy", sa.Text),
    )
    account = sa.Table(
        "account",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("accountId", sa.Text, nullable=False),
        sa.Column("providerId", sa.Text, nullable=False),
        sa.Column(
            "userId", sa.Text, sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True
        ),
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
    verification = sa.Table(
        "verification",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("identifier", sa.Text, nullable=False, index=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("expiresAt", ts, nullable=False),
        sa.Column("createdAt", ts, nullable=False),
        sa.Column("updatedAt", ts, nullable=False),
    )
    lockout = sa.Table(
        "lockout",
        md,
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("windowStart", ts, nullable=False),
    )
    two_factor = sa.Table(
        "twoFactor",
        md,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("secret", sa.Text, nullable=False, index=True),
        sa.Column("backupCodes", sa.Text, nullable=False),
        sa.Column(
            "userId", sa.Text, sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column("verified", sa.Boolean),
        sa.Column("failedVerificationCount", sa.Integer),
        sa.Column("lockedUntil", ts),
        # authkeeper's own: the last accepted TOTP step, so each code works once.
        sa.Column("lastTotpCounter", sa.BigInteger),
        # authkeeper's own: this user of an authenticator app also enrolled emailed codes
        # (NULL in Better Auth's rows: the app alone).
        sa.Column("otpEnabled", sa.Boolean),
    )
    # No foreign key on purpose: a removed user's history stays.
    audit = sa.Table(
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
    return Tables(md, user, session, account, verification, lockout, two_factor, audit)
