"""Impersonation: an admin acts as another user through a short session marked
``impersonatedBy``, and later returns to their own session.

The impersonation session cannot change the password or the email, delete the account
or touch two-factor (the core flows call :func:`~authkeeper.flows.sessions.forbid_delegated`),
does not appear in the user's own list-sessions, and cannot start another impersonation.
Admins (``admin`` role, ``admin_emails``, ``admin_user_ids``) can only be impersonated with
``user:impersonate-admins``; the target must rank below the actor, or with that permission be
an equal or an admin (never above the actor, nor in ``admin_user_ids``: see
:meth:`~.access.Actor.may_impersonate`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...core import audit, errors
from ...core.context import AuthContext
from ...core.hooks import SessionIssued
from ...core.models import ClientInfo, Session, User, iso
from ...flows import sessions
from . import errors as admin_errors
from .access import Actor
from .bans import ensure_not_banned
from .events import AdminEvent
from .flows import IMPERSONATE, IMPERSONATE_ADMINS, find_target
from .settings import AdminSettings


@dataclass(slots=True)
class Switched:
    """The session to put in the cookie and whose user it is."""

    session: Session
    user: User
    remember: bool = False


def admin_cookie_value(admin_token: str, dont_remember: bool) -> str:
    """What the signed ``admin_session`` cookie holds: ``<adminToken>:<"true" or "">``."""
    return f"{admin_token}:{'true' if dont_remember else ''}"


async def impersonate(ctx: AuthContext, actor: Actor, user_id: str, client: ClientInfo | None = None) -> Switched:
    """A new session for ``user_id`` marked ``impersonatedBy`` the actor, lasting
    ``impersonation_session_duration``."""
    actor.require(*IMPERSONATE)
    if actor.user is None or actor.session is None:  # pragma: no cover - the CLI never impersonates
        raise errors.AuthError(errors.UNAUTHORIZED)
    sessions.forbid_delegated(ctx, actor.session)
    target = await find_target(ctx, user_id)
    access = actor.access
    target_is_admin = access.is_admin(access.roles_of(target))
    if target_is_admin:
        actor.require(*IMPERSONATE_ADMINS)
    if not actor.may_impersonate(target):
        raise errors.AuthError(IMPERSONATE_ADMINS[1] if target_is_admin else IMPERSONATE[1])
    # As Better Auth's session hook: a banned user gets no session, impersonated or not.
    target = await ensure_not_banned(ctx, target, client)
    duration = ctx.settings.section(AdminSettings).impersonation_session_duration
    async with ctx.store.transaction() as tx:
        session = await sessions.create_session(
            ctx,
            target,
            client or ClientInfo(),
            remember=False,
            extra={"impersonatedBy": actor.id},
            expires_in=duration,
            store=tx,
        )
        await audit.record(
            tx,
            AdminEvent.IMPERSONATION_STARTED,
            user_id=target.id,
            actor_id=actor.id,
            client=client,
            session_id=session.id,
            expires_at=iso(session.expires_at),
        )
    await ctx.hooks.emit(ctx, SessionIssued(target.id, session.id, "impersonation"))
    return Switched(session, target)


async def stop_impersonating(
    ctx: AuthContext, current: Session, admin_cookie: str | None, client: ClientInfo | None = None
) -> Switched:
    """End the impersonation session ``current`` and return the admin's own session, named
    by the (already verified) ``admin_session`` cookie value."""
    admin_id = current.extra.get("impersonatedBy")
    if not admin_id:
        raise errors.AuthError(admin_errors.YOU_ARE_NOT_IMPERSONATING_ANYONE)
    admin = await ctx.store.find_user_by_id(str(admin_id))
    if admin is None:
        raise errors.AuthError(admin_errors.FAILED_TO_FIND_USER)
    if not admin_cookie:
        raise errors.AuthError(admin_errors.FAILED_TO_FIND_ADMIN_SESSION)
    admin_token, _, dont_remember = admin_cookie.partition(":")
    resolved = await sessions.resolve(ctx, admin_token, refresh=False)
    if resolved is None or resolved.session.user_id != admin.id:
        raise errors.AuthError(admin_errors.FAILED_TO_FIND_ADMIN_SESSION)
    async with ctx.store.transaction() as tx:
        await tx.delete_session(current.token)
        await audit.record(
            tx,
            AdminEvent.IMPERSONATION_STOPPED,
            user_id=current.user_id,
            actor_id=admin.id,
            client=client,
            session_id=current.id,
        )
    return Switched(resolved.session, resolved.user, remember=not dont_remember)


def may_impersonate(actor: Actor, target: User) -> bool:
    """Whether ``actor`` may (still) impersonate ``target``: checked when the impersonation
    starts and again each time its session is used."""
    access = actor.access
    if not actor.can(IMPERSONATE[0]):
        return False
    if access.is_admin(access.roles_of(target)) and not actor.can(IMPERSONATE_ADMINS[0]):
        return False
    return actor.may_impersonate(target)
