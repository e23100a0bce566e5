"""The audit log: a fixed list of security events, written in the transaction of the change.

Rows never hold a secret, password, code or token, and do not reference the user row, so a
removed user's history stays.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .crypto.random import generate_id
from .models import AuditEvent, ClientInfo, utcnow

if TYPE_CHECKING:
    from .ports import AuditLog


class Event(StrEnum):
    """The core's event names (stable: clients filter on them). Plugins name theirs
    (``Plugin.audit_events``); the composition root merges them (``AuthContext.audit_events``)."""

    SIGN_UP = "sign-up"
    SIGN_IN = "sign-in"
    SIGN_IN_FAILED = "sign-in-failed"
    SIGN_OUT = "sign-out"
    PASSWORD_CHANGED = "password-changed"
    PASSWORD_RESET = "password-reset"
    EMAIL_CHANGED = "email-changed"
    EMAIL_VERIFIED = "email-verified"
    SESSION_REVOKED = "session-revoked"
    USER_CREATED = "user-created"
    USER_REMOVED = "user-removed"
    ACCOUNT_LOCKED = "account-locked"
    PASSWORD_CHECK_FAILED = "password-check-failed"
    """A signed-in user's password check failed (wrong, or the account locked); ``endpoint``
    names the action (``verify-password``, ``change-password``, ``two-factor-enable``, …)."""


_FORBIDDEN_KEYS = ("password", "token", "secret", "code", "otp")


async def record(
    store: AuditLog,
    event: str,
    *,
    user_id: str | None,
    actor_id: str | None = None,
    client: ClientInfo | None = None,
    **details: Any,
) -> None:
    """Write one event. ``actor_id`` defaults to the user (self-service)."""
    for key in details:
        if any(word in key.lower() for word in _FORBIDDEN_KEYS) and key not in ("reason_code", "method"):
            raise ValueError(f"audit details may not hold {key!r}")
    await store.add_audit(
        AuditEvent(
            id=generate_id(),
            created_at=utcnow(),
            event=str(event),
            actor_id=actor_id if actor_id is not None else user_id,
            user_id=user_id,
            ip_address=client.ip if client else None,
            user_agent=client.user_agent if client else None,
            details=details,
        )
    )


def core_events() -> tuple[str, ...]:
    return tuple(e.value for e in Event)
