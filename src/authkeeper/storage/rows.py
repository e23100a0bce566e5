"""Rows (dictionaries keyed by Better Auth's column names) to records and back, shared by every
backend, and the check of a write's field names against the merged schema."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from ..core.changes import SESSION_CORE_COLUMNS, USER_CORE_COLUMNS
from ..core.crypto.random import generate_id
from ..core.models import Account, AuditEvent, Session, User, Verification
from ..core.ports import UnknownFieldError


def check_fields(table: sa.Table, names: Iterable[str]) -> None:
    """UnknownFieldError for a name ``table`` has no column for."""
    for name in names:
        if name not in table.c:
            raise UnknownFieldError(f"{table.name}.{name}: no installed plugin declares this field")


def user(row: Mapping[Any, Any], flags: frozenset[str], prefix: str = "") -> User:
    def get(k: str) -> Any:
        return row[prefix + k]

    extra = {
        k[len(prefix) :]: v
        for k, v in row.items()
        if k.startswith(prefix) and k[len(prefix) :] not in USER_CORE_COLUMNS
    }
    for flag in flags:
        if flag in extra and extra[flag] is None:
            extra[flag] = False
    return User(
        id=get("id"),
        name=get("name"),
        email=get("email"),
        email_verified=bool(get("emailVerified")),
        image=get("image"),
        created_at=get("createdAt"),
        updated_at=get("updatedAt"),
        extra=extra,
    )


def session(row: Mapping[Any, Any], prefix: str = "") -> Session:
    def get(k: str) -> Any:
        return row[prefix + k]

    extra = {
        k[len(prefix) :]: v
        for k, v in row.items()
        if k.startswith(prefix) and k[len(prefix) :] not in SESSION_CORE_COLUMNS
    }
    return Session(
        id=get("id"),
        token=get("token"),
        user_id=get("userId"),
        expires_at=get("expiresAt"),
        created_at=get("createdAt"),
        updated_at=get("updatedAt"),
        ip_address=get("ipAddress"),
        user_agent=get("userAgent"),
        extra=extra,
    )


def account(row: Mapping[Any, Any]) -> Account:
    return Account(
        id=row["id"],
        account_id=row["accountId"],
        provider_id=row["providerId"],
        user_id=row["userId"],
        created_at=row["createdAt"],
        updated_at=row["updatedAt"],
        password=row["password"],
        scope=row["scope"],
    )


def verification(row: Mapping[Any, Any]) -> Verification:
    return Verification(
        id=row["id"],
        identifier=row["identifier"],
        value=row["value"],
        expires_at=row["expiresAt"],
        created_at=row["createdAt"],
        updated_at=row["updatedAt"],
    )


def audit_event(row: Mapping[Any, Any]) -> AuditEvent:
    return AuditEvent(
        id=row["id"],
        created_at=row["createdAt"],
        event=row["event"],
        actor_id=row["actorId"],
        user_id=row["userId"],
        ip_address=row["ipAddress"],
        user_agent=row["userAgent"],
        details=json.loads(row["details"] or "{}"),
    )


def user_values(u: User) -> dict[str, Any]:
    return {
        "id": u.id,
        "name": u.name,
        "email": u.email,
        "emailVerified": u.email_verified,
        "image": u.image,
        "createdAt": u.created_at,
        "updatedAt": u.updated_at,
        **u.extra,
    }


def account_values(a: Account) -> dict[str, Any]:
    return {
        "id": a.id,
        "accountId": a.account_id,
        "providerId": a.provider_id,
        "userId": a.user_id,
        "password": a.password,
        "scope": a.scope,
        "createdAt": a.created_at,
        "updatedAt": a.updated_at,
    }


def session_values(s: Session) -> dict[str, Any]:
    return {
        "id": s.id,
        "token": s.token,
        "userId": s.user_id,
        "expiresAt": s.expires_at,
        "createdAt": s.created_at,
        "updatedAt": s.updated_at,
        "ipAddress": s.ip_address,
        "userAgent": s.user_agent,
        **s.extra,
    }


def audit_values(e: AuditEvent) -> dict[str, Any]:
    return {
        "id": e.id or generate_id(),
        "createdAt": e.created_at,
        "event": e.event,
        "actorId": e.actor_id,
        "userId": e.user_id,
        "ipAddress": e.ip_address,
        "userAgent": e.user_agent,
        "details": json.dumps(e.details, separators=(",", ":")),
    }


def like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
