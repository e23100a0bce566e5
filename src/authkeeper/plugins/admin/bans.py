"""Bans: an admin bans or unbans a user; a banned user gets no session.

Sign-in checks the ban in a stage (order 10), so only after the right password: a guesser
sees ``INVALID_EMAIL_OR_PASSWORD`` either way and learns nothing about bans. The banned
user is told ``AdminSettings.banned_user_message``, never the reason, which stays with the
admins. A ban whose ``banExpires`` has passed is lifted when the user next signs in.
"""

from __future__ import annotations

from datetime import timedelta

from ...core import audit, errors
from ...core.changes import UserUpdate
from ...core.context import AuthContext
from ...core.models import ClientInfo, User, iso
from ...flows import sessions
from ...flows.sign_in import Interruption, PendingSignIn
from . import errors as admin_errors
from .access import Actor
from .constants import DEFAULT_BAN_REASON, MAX_BAN_SECONDS, SYSTEM_ACTOR
from .events import AdminEvent
from .flows import BAN, find_target, user_not_found
from .schema import BAN_EXPIRES, BAN_REASON, BANNED
from .settings import AdminSettings


async def ban_user(
    ctx: AuthContext,
    actor: Actor,
    user_id: str,
    *,
    reason: str | None = None,
    expires_in: float | None = None,
    client: ClientInfo | None = None,
) -> User:
    """Ban ``user_id`` (for ``expires_in`` seconds, or until unbanned) and end their sessions."""
    actor.require(*BAN)
    if expires_in is not None and not 0 <= expires_in <= MAX_BAN_SECONDS:
        raise errors.AuthError(
            errors.VALIDATION_ERROR, f"[body.banExpiresIn] Must be between 0 and {MAX_BAN_SECONDS} seconds"
        )
    target = await find_target(ctx, user_id)
    if target.id == actor.id:
        raise errors.AuthError(admin_errors.YOU_CANNOT_BAN_YOURSELF)
    actor.require_manage(target, BAN[1])
    now = ctx.now()
    # As Better Auth: 0 (or nothing) means a ban without end.
    expires = now + timedelta(seconds=expires_in) if expires_in else None
    reason = reason or DEFAULT_BAN_REASON
    async with ctx.store.transaction() as tx:
        updated = await tx.update_user(
            target.id, UserUpdate(updated_at=now, fields={BANNED: True, BAN_REASON: reason, BAN_EXPIRES: expires})
        )
        if updated is None:
            raise user_not_found()
        count = await sessions.end_all(ctx, tx, target.id)
        await audit.record(
            tx,
            AdminEvent.USER_BANNED,
            user_id=target.id,
            actor_id=actor.id,
            client=client,
            reason=reason,
            expires_at=iso(expires),
            sessions_revoked=count,
            **actor.details,
        )
    return updated


def _unbanned(ctx: AuthContext) -> UserUpdate:
    return UserUpdate(updated_at=ctx.now(), fields={BANNED: False, BAN_REASON: None, BAN_EXPIRES: None})


async def unban_user(ctx: AuthContext, actor: Actor, user_id: str, client: ClientInfo | None = None) -> User:
    actor.require(*BAN)
    target = await find_target(ctx, user_id)
    actor.require_manage(target, BAN[1])
    async with ctx.store.transaction() as tx:
        updated = await tx.update_user(target.id, _unbanned(ctx))
        if updated is None:
            raise user_not_found()
        await audit.record(
            tx, AdminEvent.USER_UNBANNED, user_id=target.id, actor_id=actor.id, client=client, **actor.details
        )
    return updated


async def lift_expired_ban(ctx: AuthContext, user: User, client: ClientInfo | None = None) -> User:
    """The user, unbanned if their ban has run out (recorded as done by ``system``)."""
    expires = user.extra.get("banExpires")
    if not user.extra.get("banned") or expires is None or expires > ctx.now():
        return user
    async with ctx.store.transaction() as tx:
        # Only the ban that ran out: an admin's new ban, or another request lifting this one
        # first, leaves nothing to do here.
        updated = await tx.update_user(
            user.id, _unbanned(ctx), expected=UserUpdate(fields={BANNED: True, BAN_EXPIRES: expires})
        )
        if updated is None:
            return await tx.find_user_by_id(user.id) or user
        await audit.record(
            tx, AdminEvent.USER_UNBANNED, user_id=user.id, actor_id=SYSTEM_ACTOR, client=client, expired=True
        )
    return updated


async def ensure_not_banned(ctx: AuthContext, user: User, client: ClientInfo | None = None) -> User:
    """Refuse a session to a banned user (``BANNED_USER`` with the configured message);
    an expired ban is lifted first. For every flow that creates a session."""
    user = await lift_expired_ban(ctx, user, client)
    if user.extra.get("banned"):
        raise errors.AuthError(admin_errors.BANNED_USER, ctx.settings.section(AdminSettings).banned_user_message)
    return user


async def ban_stage(ctx: AuthContext, pending: PendingSignIn) -> Interruption | None:
    """The sign-in stage: runs after the password checked out, before two-factor."""
    try:
        pending.user = await ensure_not_banned(ctx, pending.user, pending.client)
    except errors.AuthError:
        await audit.record(
            ctx.store,
            audit.Event.SIGN_IN_FAILED,
            user_id=pending.user.id,
            client=pending.client,
            reason_code=admin_errors.BANNED_USER.code,
        )
        raise
    return None
