"""Better Auth's tables and column names (spec §5), as SQLAlchemy Core metadata.

Names are Better Auth's own (singular tables, camelCase columns), so an existing Better
Auth database is served as it is. ``lockout`` is authkeeper's own. The plugins' columns and
tables are theirs (``PluginSchema``), merged here by :func:`build_tables`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from ..core.settings import AdditionalField
from .schema import PluginSchema


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
    """The merged schema: the core's tables, with the columns the plugins and the settings'
    additional fields add to ``user`` and ``session``, and the plugins' own tables."""

    metadata: sa.MetaData
    user: sa.Table
    session: sa.Table
    account: sa.Table
    verification: sa.Table
    lockout: sa.Table
    audit: sa.Table
    by_name: Mapping[str, sa.Table] = field(default_factory=dict)
    """The plugins' own tables, by name (the records port's)."""
    user_flags: frozenset[str] = frozenset()
    """Boolean user columns read as false when empty (``PluginSchema.user_flags``)."""

    def user_children(self) -> list[tuple[sa.Table, sa.Column[Any]]]:
        """(table, column) of every foreign key to ``user.id``: what goes with a user."""
        return [
            (table, fk.parent)
            for table in self.metadata.sorted_tables
            for fk in table.foreign_keys
            if fk.column.table is self.user and fk.column.name == "id"
        ]


CORE_TABLES = frozenset({"user", "session", "account", "verification", "lockout", "auditEvent"})


def build_tables(additional_fields: Sequence[AdditionalField] = (), schemas: Sequence[PluginSchema] = ()) -> Tables:
    """The core's tables merged with the plugins' ``schemas`` (their columns in their order,
    then the additional fields) and their own tables."""
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
        sa.Column("userId", sa.Text, sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True),
        # Who holds the session as the user (``core.models.DELEGATED_BY``): the core's, so that a
        # delegated session stays restricted whichever plugins are installed.
        sa.Column("impersonatedBy", sa.Text),
    )
    account = sa.Table(
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
    for schema in schemas:
        for column in schema.user_columns():
            if column.name not in user.c:
                user.append_column(column)
        for column in schema.session_columns():
            if column.name not in session.c:
                session.append_column(column)
        schema.tables(md)
    for spec in additional_fields:
        if spec.name in user.c:
            raise ValueError(
                f"user.additional_fields: {spec.name!r} is a column of the core or of a plugin; "
                "name the field otherwise"
            )
        user.append_column(column_for(spec))
    return Tables(
        md,
        user,
        session,
        account,
        verification,
        lockout,
        audit,
        by_name={t.name: t for t in md.sorted_tables if t.name not in CORE_TABLES},
        user_flags=frozenset(name for schema in schemas for name in schema.user_flags),
    )
