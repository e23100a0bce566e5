"""Typed updates of users and sessions, for :meth:`~authkeeper.core.ports.Users.update_user`
and :meth:`~authkeeper.core.ports.Sessions.update_session`.

The core's own fields are attributes (left :data:`UNSET`, a field is not written); the fields
the plugins and the settings' additional fields add are in ``fields``, by their column (and
JSON) name, and the store refuses a name the merged schema does not declare
(:class:`~authkeeper.core.ports.UnknownFieldError`). The same types say what a compare-and-set
expects (``expected=``): every field given must still hold the value given (None: empty).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final


class Unset(enum.Enum):
    UNSET = "unset"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET
"""A field left as it is."""

USER_CORE_COLUMNS = frozenset({"id", "name", "email", "emailVerified", "image", "createdAt", "updatedAt"})
"""Better Auth's core user columns; every other column is an additional or a plugin field."""
SESSION_CORE_COLUMNS = frozenset(
    {"id", "token", "userId", "expiresAt", "createdAt", "updatedAt", "ipAddress", "userAgent"}
)

_USER_ATTRS = {
    "name": "name",
    "email": "email",
    "emailVerified": "email_verified",
    "image": "image",
    "updatedAt": "updated_at",
}
_SESSION_ATTRS = {"expiresAt": "expires_at", "updatedAt": "updated_at"}


def _columns(change: Any, attrs: Mapping[str, str]) -> dict[str, Any]:
    out = {column: getattr(change, attr) for column, attr in attrs.items() if getattr(change, attr) is not UNSET}
    out.update(change.fields)
    return out


def _split(
    values: Mapping[str, Any], attrs: Mapping[str, str], core: frozenset[str], what: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    typed: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for name, value in values.items():
        if name in attrs:
            typed[attrs[name]] = value
        elif name in core:
            raise ValueError(f"{what}.{name} is never updated")
        else:
            extra[name] = value
    return typed, extra


def _check_fields(fields: Mapping[str, Any], core: frozenset[str], what: str) -> None:
    for name in fields:
        if name in core:
            raise ValueError(f"{what}.{name} is a core field: set its attribute, not fields")


@dataclass(frozen=True, slots=True)
class UserUpdate:
    """A change to a user (or, as ``expected``, the values a compare-and-set requires)."""

    name: str | Unset = UNSET
    email: str | Unset = UNSET
    email_verified: bool | Unset = UNSET
    image: str | None | Unset = UNSET
    updated_at: datetime | Unset = UNSET
    fields: Mapping[str, Any] = field(default_factory=dict)
    """Additional and plugin fields by column name (``{"banned": True}``)."""

    def __post_init__(self) -> None:
        _check_fields(self.fields, USER_CORE_COLUMNS, "user")

    @classmethod
    def from_columns(cls, values: Mapping[str, Any]) -> UserUpdate:
        """From Better Auth's column names (``{"emailVerified": True, "role": "admin"}``): the
        core's go to their attributes, the others to ``fields``."""
        typed, extra = _split(values, _USER_ATTRS, USER_CORE_COLUMNS, "user")
        return cls(**typed, fields=extra)

    def columns(self) -> dict[str, Any]:
        """What is written, by column name."""
        return _columns(self, _USER_ATTRS)

    def is_empty(self) -> bool:
        return not self.columns()


@dataclass(frozen=True, slots=True)
class SessionUpdate:
    """A change to a session: its expiry (the sliding refresh) and plugin fields."""

    expires_at: datetime | Unset = UNSET
    updated_at: datetime | Unset = UNSET
    fields: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_fields(self.fields, SESSION_CORE_COLUMNS, "session")

    @classmethod
    def from_columns(cls, values: Mapping[str, Any]) -> SessionUpdate:
        typed, extra = _split(values, _SESSION_ATTRS, SESSION_CORE_COLUMNS, "session")
        return cls(**typed, fields=extra)

    def columns(self) -> dict[str, Any]:
        return _columns(self, _SESSION_ATTRS)
