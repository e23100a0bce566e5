"""Database sessions: create, resolve with sliding refresh, list, revoke."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..core import audit, errors
from ..core.context import AuthContext
from ..core.crypto.random import generate_id
from ..core.models import ClientInfo, Session, User
from ..storage.base import Store

HANDLE_PREFIX = "sid_"

SESSIONS_REVOKED_HOOKS = "on_sessions_revoked"
"""``ctx.state`` key: plugins' ``async (store, user_id)`` callables, run in the transaction
that removes every session of a user (two-factor forgets the user's trusted devices)."""


async def end_all(ctx: AuthContext, tx: Store, user_id: str) -> int:
    """End every session of the user in transaction ``tx`` and tell the plugins, which forget
    what hangs on those sessions (two-factor's trusted devices and pending challenges).
    Returns how many sessions ended. Every flow that ends them all goes through here."""
    count = await tx.delete_user_sessions(user_id)
    for hook in ctx.state.get(SESSIONS_REVOKED_HOOKS, ()):
        await hook(tx, user_id)
    return count


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
    store: Store | None = None,
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
    await (store or ctx.store).create_session(session)
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
    # An impersonation session keeps the short life it was given: it never slides.
    if refresh and not session.extra.get("impersonatedBy") and session.expires_at - timedelta(seconds=s.expires_in - s.update_age) <= now:
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


def forbid_impersonation(session: Session) -> None:
    """Password, email, deletion and two-factor changes need the user, not an admin acting as them."""
    if session.extra.get("impersonatedBy"):
        raise errors.AuthError(errors.NOT_ALLOWED_WHILE_IMPERSONATING)


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


async def revoke_session(ctx: AuthContext, current: Session, token: str, client: ClientInfo | None = None) -> bool:
    """Revoke one of the caller's sessions by token or handle; True if it was the current one.

    Unknown or foreign tokens are ignored (same answer either way).
    """
    async with ctx.store.transaction() as tx:
        if token.startswith(HANDLE_PREFIX):
            session_id = token[len(HANDLE_PREFIX):]
            done = await tx.delete_session_by_id(session_id, current.user_id)
            is_current = session_id == current.id
        else:
            done = await tx.delete_session(token, current.user_id)
            is_current = token == current.token
        if done:
            await audit.record(tx, audit.Event.SESSION_REVOKED, user_id=current.user_id, client=client, scope="one")
    return is_current


async def revoke_all(ctx: AuthContext, user_id: str, client: ClientInfo | None = None, actor_id: str | None = None,
                     **details: Any) -> int:
    async with ctx.store.transaction() as tx:
        count = await end_all(ctx, tx, user_id)
        await audit.record(tx, audit.Event.SESSION_REVOKED, user_id=user_id, actor_id=actor_id,
                           client=client, scope="all", count=count, **details)
    return count


async def revoke_others(ctx: AuthContext, current: Session, client: ClientInfo | None = None) -> int:
    async with ctx.store.transaction() as tx:
        count = await tx.delete_user_sessions(current.user_id, keep_token=current.token)
        await audit.record(tx, audit.Event.SESSION_REVOKED, user_id=current.user_id, client=client,
                           scope="others", count=count)
    return count


async def sign_out(ctx: AuthContext, token: str | None, client: ClientInfo | None = None) -> None:
    if not token:
        return
    async with ctx.store.transaction() as tx:
        found = await tx.find_session(token)
        if found is not None:
            await tx.delete_session(token)
            await audit.record(tx, audit.Event.SIGN_OUT, user_id=found[0].user_id, client=client)
