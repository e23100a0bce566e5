"""What the admin plugin keeps in the database (Better Auth's, spec §5.4): the user's role and
ban, and on an impersonation session who opened it. Nullable, as Better Auth declares them;
its Alembic branch (``migrations/``) brings them to a database."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from ...core.models import DELEGATED_BY
from ...core.settings import Settings
from ...storage.schema import PluginSchema
from ...storage.tables import UTCDateTime
from . import migrations
from .settings import AdminSettings

ROLE = "role"
BANNED = "banned"
BAN_REASON = "banReason"
BAN_EXPIRES = "banExpires"
IMPERSONATED_BY = DELEGATED_BY
"""The session column naming the admin acting as the user (the core's: see ``DELEGATED_BY``)."""

BAN_FIELDS = (BANNED, BAN_REASON, BAN_EXPIRES)


def _user_columns() -> tuple[sa.Column[Any], ...]:
    return (
        sa.Column(ROLE, sa.Text),
        sa.Column(BANNED, sa.Boolean),
        sa.Column(BAN_REASON, sa.Text),
        sa.Column(BAN_EXPIRES, UTCDateTime),
    )


def _user_defaults(settings: Settings) -> Mapping[str, Any]:
    return {ROLE: settings.section(AdminSettings).default_role, BANNED: False}


SCHEMA = PluginSchema(
    user_columns=_user_columns,
    user_defaults=_user_defaults,
    protected_user_fields=frozenset({ROLE, BANNED, BAN_REASON, BAN_EXPIRES}),
    user_flags=frozenset({BANNED}),
    migrations=migrations.LOCATION,
    branch=migrations.BRANCH,
    head=migrations.HEAD,
)
