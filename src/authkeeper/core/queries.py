"""What the store is asked for beyond lookups by key: listing users and audit events, and the
conditions of the records port (plugin tables). Plain values; each backend evaluates them the
same way (``tests/storage`` holds every backend to it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Operator = Literal["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "starts_with", "ends_with"]


@dataclass(frozen=True, slots=True)
class Listed:
    """Users whose ``field`` names ``item`` in a comma-separated list (spaces ignored:
    ``"admin, moderator"`` names ``moderator``); an empty field reads as ``default``."""

    field: str
    item: str
    default: str | None = None


@dataclass(frozen=True, slots=True)
class UserQuery:
    """A search over users (every value is bound; LIKE input is escaped). A field the schema
    does not have is ignored, as a filter or as the sort."""

    search_field: str | None = None
    search_operator: Literal["contains", "starts_with", "ends_with"] = "contains"
    search_value: str | None = None
    """Matched case-insensitively on ``search_field`` (default ``email``)."""
    filters: tuple[tuple[str, Operator, Any], ...] = ()
    """(field, operator, value); a boolean field left empty reads as false."""
    listed: Listed | None = None
    sort_by: str | None = None
    sort_direction: Literal["asc", "desc"] = "asc"
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class AuditQuery:
    user_id: str | None = None
    """Events about this user, or by them."""
    events: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0


# -- conditions of the records port -------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Compare:
    """``column <op> value``; false when the column is empty, as in SQL."""

    op: Literal["ne", "lt", "le", "gt", "ge"]
    value: Any


@dataclass(frozen=True, slots=True)
class AnyOf:
    """True when any of ``options`` (values or :class:`Compare`) holds."""

    options: tuple[Any, ...]


def lt(value: Any) -> Compare:
    return Compare("lt", value)


def gt(value: Any) -> Compare:
    return Compare("gt", value)


def ne(value: Any) -> Compare:
    return Compare("ne", value)


def any_of(*options: Any) -> AnyOf:
    return AnyOf(options)


Where = Mapping[str, Any]
"""Column name → a value (equal to it; None: the column is empty), a :class:`Compare` or an
:class:`AnyOf`; every entry must hold."""
