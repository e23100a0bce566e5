"""Database sessions: create, resolve with sliding refresh, list, revoke."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..core import audit, errors
from ..core.context import AuthContext
from ..core.crypto.random import generate_id
from ..core.models import ClientInfo, Session, User
from ..storage.base import Store

HANDLE_PREFIX = "sid_"

SESSIONS_REVOKED_HOOKS = "on_sessions_revoked"
"""``ctx.state`` key: plugins' ``async (ctx, store, user_id, presented)`` callables, run in the
transaction that ends every session of a user, or every one but the caller's (two-factor forgets
the user's trusted devices but the caller's own). ``presented`` gives the unsigned value of a
signed cookie the caller's device presents, by logical name (None when no device keeps anything)."""

SESSION_CHECKS = "session_checks"
"""``ctx.state`` key: plugins' ``async (ctx, session, user) -> bool`` callables, run each time a
live session is resolved (the user row is read with it anyway). One that answers False ends
the session: admin refuses a banned user's session and an impersonation whose impersonator
may no longer impersonate."""

Presented = Callable[[str], "str | None"]
"""Logical cookie name → the unsigned value the caller's device presents (or None)."""


async def end_all(ctx: AuthContext, tx: Store, user_id: str, *, keep: Session | None = None,
                  presented: Presented | None = None) -> int:
    """End every session of the user in transaction ``tx`` (all but ``keep``, when given) and
    tell the plugins, which forget what hangs on those sessions (two-factor's trusted devices
    and pending challenges, except what the ``presented`` cookies of the kept device name).
    Returns how many sessions ended. Every flow that ends them goes through here."""
    count = await tx.delete_user_sessions(user_id, keep_token=keep.token if keep else None)
    for hook in ctx.state.get(SESSIONS_REVOKED_HOOKS, ()):
        await hook(ctx, tx, user_id, presented if keep is not None else None)
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


def lifetime_end(ctx: AuthContext, session: Session) -> datetime | None:
    """When the session ends however often it is used: its creation plus
    ``session.absolute_lifetime`` (None when that is 0, no cap)."""
    cap = ctx.settings.session.absolute_lifetime
    if not cap:
        return None
    try:
        return session.created_at + timedelta(seconds=cap)
    except OverflowError:  # pragma: no cover - a creation date near year 9999
        return None


async def resolve(ctx: AuthContext, token: str, *, refresh: bool = True) -> Resolved | None:
    """The live session for ``token`` (sliding its expiry per ``update_age``), or None.

    The slide never goes past :func:`lifetime_end` (OWASP ASVS 5 §7.3), and a row that would
    outlive it (written under a longer cap, or none) ends there too. An expired row is deleted
    on sight, and so is one a plugin's session check refuses (:data:`SESSION_CHECKS`).
    """
    found = await ctx.store.find_session(token)
    if found is None:
        return None
    session, user = found
    now = ctx.now()
    end = lifetime_end(ctx, session)
    if end is not None and end < session.expires_at:
        session.expires_at = end
    if session.expires_at <= now:
        await ctx.store.delete_session(token)
        return None
    for check in ctx.state.get(SESSION_CHECKS, ()):
        if not await check(ctx, session, user):
            await ctx.store.delete_session(token)
            return None
    s = ctx.settings.session
    # An impersonation session keeps the short life it was given: it never slides.
    if refresh and not session.extra.get("impersonatedBy") and session.expires_at - timedelta(seconds=s.expires_in - s.update_age) <= now:
        slid = now + timedelta(seconds=s.expires_in)
        if end is not None:
            slid = min(slid, end)
        if slid > session.expires_at:  # at the cap already: nothing to write
            session.expires_at = slid
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
    now = ctx.now()
    shown: list[dict[str, Any]] = []
    for s in sessions:
        end = lifetime_end(ctx, s)
        if end is not None and end < s.expires_at:
            if end <= now:
                continue  # past the absolute lifetime: dead, though its row says otherwise
            s.expires_at = end
        if not s.extra.get("impersonatedBy"):
            shown.append(s.to_json(token=None if s.token == current.token else handle_for(s)))
    return shown


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


async def revoke_others(ctx: AuthContext, current: Session, client: ClientInfo | None = None,
                        presented: Presented | None = None) -> int:
    """End the user's other sessions; the caller's device keeps its session and what its
    ``presented`` cookies name (its trusted-device record)."""
    async with ctx.store.transaction() as tx:
        count = await end_all(ctx, tx, current.user_id, keep=current, presented=presented)
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
