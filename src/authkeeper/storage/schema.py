"""What a plugin declares of the database: its tables, the columns it adds to ``user`` and
``session``, their values for a new user, which of them clients may never set, and where its
Alembic revisions live. The composition root merges the declarations of the installed plugins
(:func:`authkeeper.storage.tables.build_tables`); storage and migrations read only this."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..core.settings import Settings
from ..core.users import PluginFields


def _no_tables(_metadata: sa.MetaData) -> None:
    return None


def _no_columns() -> tuple[sa.Column[Any], ...]:
    return ()


def _no_defaults(_settings: Settings) -> Mapping[str, Any]:
    return {}


@dataclass(frozen=True)
class PluginSchema:
    tables: Callable[[sa.MetaData], None] = _no_tables
    """Adds the plugin's own tables to the metadata (Better Auth's names where it has them)."""
    user_columns: Callable[[], tuple[sa.Column[Any], ...]] = _no_columns
    """Fresh column objects the plugin adds to ``user`` (nullable, as Better Auth declares them)."""
    session_columns: Callable[[], tuple[sa.Column[Any], ...]] = _no_columns
    """Fresh column objects the plugin adds to ``session``."""
    user_defaults: Callable[[Settings], Mapping[str, Any]] = _no_defaults
    """The values of its user columns for a new user (admin: ``role``, ``banned``)."""
    protected_user_fields: frozenset[str] = frozenset()
    """User columns no client sets, through sign-up or update-user (``role``, ``banned``...)."""
    user_flags: frozenset[str] = frozenset()
    """Boolean user columns read as false when empty (a row written before the plugin was
    installed, or by Better Auth, holds NULL there)."""
    migrations: Path | None = None
    """The folder of the plugin's Alembic revisions (its own branch)."""
    branch: str | None = None
    """The branch label of those revisions (the plugin's id)."""
    head: str | None = None
    """The latest revision of the branch: a database there needs no migration for this plugin,
    which the start-up check tells without loading Alembic."""
    extra: Mapping[str, Any] = field(default_factory=dict)


def user_fields(schemas: Sequence[PluginSchema]) -> PluginFields:
    """What the core learns of the plugins' user fields (on ``AuthContext.user_fields``)."""
    return PluginFields(
        defaults=tuple(s.user_defaults for s in schemas),
        protected=frozenset(name for s in schemas for name in s.protected_user_fields),
        columns=frozenset(c.name for s in schemas for c in s.user_columns()),
    )
