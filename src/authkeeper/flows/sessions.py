"""Database sessions: create, resolve with sliding refresh, list, revoke."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..core import audit, errors
from ..core.changes import SessionUpdate
from ..core.context import AuthContext
from ..core.crypto.random import generate_id
from ..core.hooks import (
    Presented,
    SessionsEnding,
    SessionsRevoked,
    SignedOut,
    SigningOut,
)
from ..core.models import DELEGATED_BY, ClientInfo, Session, User
from ..core.ports import Store

HANDLE_PREFIX = "sid_"


async def end_all(
    ctx: AuthContext, tx: Store, user_id: str, *, keep: Session | None = None, presented: Presented | None = None
) -> int:
    """End every session of the user in transaction ``tx`` (all but ``keep``, when given) and
    tell the plugins, which forget what hangs on those sessions (two-factor's trusted devices
    and pending challenges, except what the ``presented`` cookies of the kept device name).
    Returns how many sessions ended. Every flow that ends them goes through here."""
    count = await tx.delete_user_sessions(user_id, keep_token=keep.token if keep else None)
    await ctx.hooks.sessions_ending(ctx, tx, SessionsEnding(user_id, keep, presented if keep is not None else None))
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
    on sight, and so is one a plugin's session check refuses (``Hooks.session_checks``).
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
    hooks = ctx.hooks
    delegated = bool(session.extra.get(DELEGATED_BY)) or (bool(hooks.delegated) and hooks.is_delegated(session))
    refused = delegated and not hooks.delegated
    if not refused:
        for check in hooks.session_checks:  # the hottest path: no extra coroutine per request
            if not await check(ctx, session, user):
                refused = True
                break
    if refused:
        # Refused by a plugin, or held as the user with no installed plugin to vouch for it
        # (an impersonation whose admin plugin was turned off): it ends here.
        await ctx.store.delete_session(token)
        return None
    s = ctx.settings.session
    # A delegated session (an impersonation) keeps the short life it was given: it never slides.
    if refresh and not delegated and session.expires_at - timedelta(seconds=s.expires_in - s.update_age) <= now:
        slid = now + timedelta(seconds=s.expires_in)
        if end is not None:
            slid = min(slid, end)
        if slid > session.expires_at:  # at the cap already: nothing to write
            session.expires_at = slid
            session.updated_at = now
            await ctx.store.update_session(token, SessionUpdate(expires_at=session.expires_at, updated_at=now))
            return Resolved(session, user, refreshed=True)
    return Resolved(session, user)


def is_fresh(ctx: AuthContext, session: Session) -> bool:
    fresh_age = ctx.settings.session.fresh_age
    return fresh_age == 0 or (ctx.now() - session.created_at).total_seconds() < fresh_age


def require_fresh(ctx: AuthContext, session: Session) -> None:
    if not is_fresh(ctx, session):
        raise errors.AuthError(errors.SESSION_NOT_FRESH)


def is_delegated(ctx: AuthContext, session: Session) -> bool:
    """Held by someone acting as the user (``core.models.DELEGATED_BY``, or a plugin's test)."""
    return bool(session.extra.get(DELEGATED_BY)) or ctx.hooks.is_delegated(session)


def forbid_delegated(ctx: AuthContext, session: Session) -> None:
    """Password, email, deletion and two-factor changes need the user, not someone acting as
    them (an admin's impersonation)."""
    if is_delegated(ctx, session):
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
        if not is_delegated(ctx, s):
            shown.append(s.to_json(token=None if s.token == current.token else handle_for(s)))
    return shown


async def revoke_session(ctx: AuthContext, current: Session, token: str, client: ClientInfo | None = None) -> bool:
    """Revoke one of the caller's sessions by token or handle; True if it was the current one.

    Unknown or foreign tokens are ignored (same answer either way).
    """
    async with ctx.store.transaction() as tx:
        if token.startswith(HANDLE_PREFIX):
            session_id = token[len(HANDLE_PREFIX) :]
            done = await tx.delete_session_by_id(session_id, current.user_id)
            is_current = session_id == current.id
        else:
            done = await tx.delete_session(token, current.user_id)
            is_current = token == current.token
        if done:
            await audit.record(tx, audit.Event.SESSION_REVOKED, user_id=current.user_id, client=client, scope="one")
    if done:
        await ctx.hooks.emit(ctx, SessionsRevoked(current.user_id, "one", 1))
    return is_current


async def revoke_all(
    ctx: AuthContext, user_id: str, client: ClientInfo | None = None, actor_id: str | None = None, **details: Any
) -> int:
    async with ctx.store.transaction() as tx:
        count = await end_all(ctx, tx, user_id)
        await audit.record(
            tx,
            audit.Event.SESSION_REVOKED,
            user_id=user_id,
            actor_id=actor_id,
            client=client,
            scope="all",
            count=count,
            **details,
        )
    await ctx.hooks.emit(ctx, SessionsRevoked(user_id, "all", count))
    return count


async def revoke_others(
    ctx: AuthContext, current: Session, client: ClientInfo | None = None, presented: Presented | None = None
) -> int:
    """End the user's other sessions; the caller's device keeps its session and what its
    ``presented`` cookies name (its trusted-device record)."""
    async with ctx.store.transaction() as tx:
        count = await end_all(ctx, tx, current.user_id, keep=current, presented=presented)
        await audit.record(
            tx, audit.Event.SESSION_REVOKED, user_id=current.user_id, client=client, scope="others", count=count
        )
    await ctx.hooks.emit(ctx, SessionsRevoked(current.user_id, "others", count))
    return count


async def sign_out(
    ctx: AuthContext, token: str | None, presented: Presented, client: ClientInfo | None = None
) -> SigningOut:
    """End the caller's session (when it still exists) and let the plugins drop what they keep
    for the device (two-factor: a pending challenge). Returns what was asked of the web layer:
    the logical cookies to clear besides the session's own."""
    change = SigningOut(user_id=None, presented=presented)
    ended: tuple[str, str] | None = None
    if not token:
        # No session to end: no write transaction either (an anonymous POST must not take the
        # writer's lock); the participants drop what the device still holds, if anything.
        await ctx.hooks.signing_out(ctx, ctx.store, change)
        return change
    async with ctx.store.transaction() as tx:
        found = await tx.find_session(token) if token else None
        if found is not None and token:
            await tx.delete_session(token)
            change.user_id = found[0].user_id
            ended = (found[0].user_id, found[0].id)
            await audit.record(tx, audit.Event.SIGN_OUT, user_id=found[0].user_id, client=client)
        await ctx.hooks.signing_out(ctx, tx, change)
    if ended is not None:
        await ctx.hooks.emit(ctx, SignedOut(*ended))
    return change
