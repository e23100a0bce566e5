"""Plain data records the flows work with. No I/O, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_iso(value: str) -> datetime | None:
    """An ISO 8601 date (``Z`` or an offset; none means UTC) as an aware datetime in UTC, or
    None. A date UTC cannot hold (``9999-12-31T23:59:59-01:00``, ``0001-01-01T00:00:00+01:00``:
    years 1 to 9999 only) is invalid too, so every caller refuses it as it refuses any bad date."""
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with milliseconds and ``Z``, as JavaScript's ``Date.toJSON`` writes it."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def _jsonable(value: Any) -> Any:
    return iso(value) if isinstance(value, datetime) else value


@dataclass(slots=True)
class User:
    id: str
    name: str
    email: str
    email_verified: bool
    image: str | None
    created_at: datetime
    updated_at: datetime
    extra: dict[str, Any] = field(default_factory=dict)
    """Additional and plugin fields, by their JSON (column) name."""

    def to_json(self, hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "emailVerified": self.email_verified,
            "image": self.image,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
        }
        for key, value in self.extra.items():
            if key not in hidden:
                data[key] = _jsonable(value)
        return data


DELEGATED_BY = "impersonatedBy"
"""Better Auth's session column naming who holds a session *as* the user (an admin's
impersonation). The core owns it, whatever plugin opens such sessions: a delegated session never
slides, is not listed among the user's sessions, may not change their credentials, and is ended
on sight when no installed plugin vouches for delegated sessions (``Hooks.delegated``)."""


@dataclass(slots=True)
class Session:
    id: str
    token: str
    user_id: str
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    ip_address: str | None = ""
    user_agent: str | None = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self, *, token: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "token": self.token if token is None else token,
            "userId": self.user_id,
            "expiresAt": iso(self.expires_at),
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "ipAddress": self.ip_address,
            "userAgent": self.user_agent,
        }
        for key, value in self.extra.items():
            data[key] = _jsonable(value)
        return data


@dataclass(slots=True)
class Account:
    id: str
    account_id: str
    provider_id: str
    user_id: str
    created_at: datetime
    updated_at: datetime
    password: str | None = None
    scope: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "providerId": self.provider_id,
            "accountId": self.account_id,
            "userId": self.user_id,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "scopes": [s for s in (self.scope or "").split(",") if s],
        }


@dataclass(slots=True)
class Verification:
    id: str
    identifier: str
    value: str
    expires_at: datetime
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """What the flows know of the caller: resolved IP and user agent, never raw headers."""

    ip: str = ""
    user_agent: str = ""


@dataclass(slots=True)
class AuditEvent:
    id: str
    created_at: datetime
    event: str
    actor_id: str | None
    user_id: str | None
    ip_address: str | None
    user_agent: str | None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "createdAt": iso(self.created_at),
            "event": self.event,
            "actorId": self.actor_id,
            "userId": self.user_id,
            "ipAddress": self.ip_address,
            "userAgent": self.user_agent,
            "details": self.details,
        }
