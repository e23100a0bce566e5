"""What an admin reads and ends of a user's access: the lockout counters, the sessions (by
handles that are never credentials) and the audit log."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from ...core import audit
from ...core.context import AuthContext
from ...core.models import AuditEvent, ClientInfo, Session, User
from ...core.ports import AuditQuery
from ...core.users import normalise_email
from ...flows import sessions
from ...flows.sign_in import lockout_key
from .access import Actor
from .constants import SESSION_HANDLE_SEPARATOR, TWO_FACTOR_LOCKOUT_PREFIX
from .events import AdminEvent
from .rules import LIST_AUDIT, LIST_SESSIONS, REVOKE_SESSIONS, UNLOCK, find_target


async def lockout_state(ctx: AuthContext, user: User) -> tuple[int, datetime | None]:
    """Failed sign-ins counted against the user's email, and until when the email is locked
    (None: not locked now)."""
    found = await ctx.store.get_failures(lockout_key(normalise_email(user.email)))
    if found is None:
        return 0, None
    count, started = found
    lo = ctx.settings.lockout
    until = started + timedelta(seconds=lo.window)
    locked = lo.enabled and count > lo.max_failures and until > ctx.now()
    return count, until if locked else None


async def unlock_user(ctx: AuthContext, actor: Actor, user_id: str, client: ClientInfo | None = None) -> User:
    """Clear the sign-in lockout of the user's email and their two-factor lockout, so they may
    try again now; audited as ``account-unlocked`` (also when nothing was locked)."""
    actor.require(*UNLOCK)
    target = await find_target(ctx, user_id)
    actor.require_manage(target, UNLOCK[1])
    counted = []
    for key in (lockout_key(normalise_email(target.email)), TWO_FACTOR_LOCKOUT_PREFIX + target.id):
        found = await ctx.store.get_failures(key)
        counted.append(found[0] if found else 0)
        await ctx.store.clear_failures(key)
    await audit.record(
        ctx.store,
        AdminEvent.ACCOUNT_UNLOCKED,
        user_id=target.id,
        actor_id=actor.id,
        client=client,
        sign_in_failures=counted[0],
        two_factor_failures=counted[1],
        **actor.details,
    )
    return target


# -- sessions ---------------------------------------------------------------------------
def session_handle(session: Session) -> str:
    """What list-user-sessions shows instead of the token: revocable by an admin, useless
    as a credential (no admin or moderator ever sees another user's session token)."""
    return f"{sessions.HANDLE_PREFIX}{session.id}{SESSION_HANDLE_SEPARATOR}{session.user_id}"


async def list_user_sessions(ctx: AuthContext, actor: Actor, user_id: str) -> list[Session]:
    actor.require(*LIST_SESSIONS)
    target = await ctx.store.find_user_by_id(user_id)
    if target is None:
        return []
    actor.require_manage(target, LIST_SESSIONS[1])
    return await ctx.store.list_sessions(target.id, ctx.now())


async def revoke_user_session(ctx: AuthContext, actor: Actor, token: str, client: ClientInfo | None = None) -> bool:
    """Revoke one session by its admin handle (or its raw token); False when none matched."""
    actor.require(*REVOKE_SESSIONS)
    handle = token[len(sessions.HANDLE_PREFIX) :] if token.startswith(sessions.HANDLE_PREFIX) else ""
    if SESSION_HANDLE_SEPARATOR in handle:
        session_id, _, user_id = handle.partition(SESSION_HANDLE_SEPARATOR)
        target = await ctx.store.find_user_by_id(user_id)
    else:
        found = await ctx.store.find_session(token)
        session_id, target = (found[0].id, found[1]) if found else ("", None)
    if target is None or not session_id:
        return False
    actor.require_manage(target, REVOKE_SESSIONS[1])
    async with ctx.store.transaction() as tx:
        done = await tx.delete_session_by_id(session_id, target.id)
        if done:
            await audit.record(
                tx,
                audit.Event.SESSION_REVOKED,
                user_id=target.id,
                actor_id=actor.id,
                client=client,
                scope="one",
                **actor.details,
            )
    return done


async def revoke_user_sessions(ctx: AuthContext, actor: Actor, user_id: str, client: ClientInfo | None = None) -> int:
    actor.require(*REVOKE_SESSIONS)
    target = await ctx.store.find_user_by_id(user_id)
    if target is None:
        return 0
    actor.require_manage(target, REVOKE_SESSIONS[1])
    return await sessions.revoke_all(ctx, target.id, client, actor_id=actor.id, **actor.details)


# -- the audit log ----------------------------------------------------------------------
async def list_audit(ctx: AuthContext, actor: Actor, query: AuditQuery) -> tuple[list[AuditEvent], int]:
    """Events of the query. The client (IP address, user agent) of an event is shown only when
    the actor may manage its subject and its actor (or is one of them): a moderator reads what
    happened to an admin, not where the admin signs in from."""
    actor.require(*LIST_AUDIT)
    events, total = await ctx.store.list_audit(query)
    if actor.exempt:
        return events, total
    people = {i for e in events for i in (e.user_id, e.actor_id) if i and i != actor.id}
    outranked: set[str] = set()
    for person in people:
        found = await ctx.store.find_user_by_id(person)
        if found is not None and not actor.may_manage(found):
            outranked.add(person)
    if not outranked:
        return events, total
    shown = [
        dataclasses.replace(e, ip_address=None, user_agent=None) if {e.user_id, e.actor_id} & outranked else e
        for e in events
    ]
    return shown, total
