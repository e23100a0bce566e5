"""Database sessions: create, resolve with sliding refresh, list, revoke."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..core import errors
from ..core.context import AuthContext
from ..core.crypto.random import generate_id
from ..core.models import ClientInfo, Session, User

HANDLE_PREFIX = "sid_"


@dataclass(slots=True)
class Resolved:
    session: Session
    user: User
    refreshed: bool = False


async def create_session(
    ctx: AuthContext,
    user: User,
    client: ClientInfo,
    *,
    remember: bool = True,
    extra: dict[str, Any] | None = None,
    expires_in: int | None = None,
) -> Session:
    now = ctx.now()
    s = ctx.settings.session
    lifetime = expires_in or (s.expires_in if remember else s.dont_remember_expires_in)
    session = Session(
        id=generate_id(),
        token=generate_id(),
        user_id=user.id,
        expires_at=now + timedelta(seconds=lifetime),
        created_at=now,
        updated_at=now,
        ip_address=client.ip,
        user_agent=client.user_agent[:512],
        extra=extra or {},
    )
    await ctx.store.create_session(session)
    return session


async def resolve(ctx: AuthContext, token: str, *, refresh: bool = True) -> Resolved | None:
    """The live session for ``token`` (sliding its expiry per ``update_age``), or None.

    An expired row is deleted on sight.
    """
    found = await ctx.store.find_session(token)
    if found is None:
        return None
    session, user = found
    now = ctx.now()
    if session.expires_at <= now:
        await ctx.store.delete_session(token)
        return None
    s = ctx.settings.session
    if refresh and session.expires_at - timedelta(seconds=s.expires_in - s.update_age) <= now:
        session.expires_at = now + timedelta(seconds=s.expires_in)
        session.updated_at = now
        await ctx.store.update_session(token, {"expiresAt": session.expires_at, "updatedAt": now})
        return Resolved(session, user, refreshed=True)
    return Resolved(session, user)


def is_fresh(ctx: AuthContext, session: Session) -> bool:
    fresh_age = ctx.settings.session.fresh_age
    return fresh_age == 0 or (ctx.now() - session.created_at).total_seconds() < fresh_age


def require_fresh(ctx: AuthContext, session: Session) -> None:
    if not is_fresh(ctx, session):
        raise errors.AuthError(errors.SESSION_NOT_FRESH)


def handle_for(session: Session) -> str:
    """What list-sessions shows instead of another session's token: revocable, not usable."""
    return HANDLE_PREFIX + session.id


async def list_sessions(ctx: AuthContext, current: Session) -> list[dict[str, Any]]:
    sessions = await ctx.store.list_sessions(current.user_id, ctx.now())
    return [
        s.to_json(token=None if s.token == current.token else handle_for(s))
        for s in sessions
        if not s.extra.get("impersonatedBy")
    ]


async def revoke_session(ctx: AuthContext, current: Session, token: str) -> bool:
    """Revoke one of the caller's sessions by token or handle; True if it was the current one.

    Unknown or foreign tokens are ignored (same answer either way).
    """
    if token.startswith(HANDLE_PREFIX):
        await ctx.store.delete_session_by_id(token[len(HANDLE_PREFIX):], current.user_id)
        return token[len(HANDLE_PREFIX):] == current.id
    await ctx.store.delete_session(token, current.user_id)
    return token == current.token


async def revoke_all(ctx: AuthContext, user_id: str) -> int:
    return await ctx.store.delete_user_sessions(user_id)


async def revoke_others(ctx: AuthContext, current: Session) -> int:
    return await ctx.store.delete_user_sessions(current.user_id, keep_token=current.token)


async def sign_out(ctx: AuthContext, token: str | None) -> None:
    if token:
        await ctx.store.delete_session(token)
