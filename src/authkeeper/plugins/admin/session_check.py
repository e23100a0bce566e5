"""The admin plugin's check on every resolved session (``Plugin.session_check``).

A session is refused, and ended, when

- its user is banned (a ban that lands between sign-in's ban stage and the session insert
  would otherwise leave a live session: the user row is read with the session anyway), or
- it is an impersonation session whose impersonator is gone, banned, or no longer allowed to
  impersonate this user (the session must not outlive the right that made it).

And when every session of a user ends, the impersonation sessions they started end too
(:func:`end_impersonations`).

A ban whose end has passed does not refuse: it is lifted at the next sign-in.
"""

from __future__ import annotations

from ...core.context import AuthContext
from ...core.hooks import SessionsEnding
from ...core.models import Session, User
from ...core.ports import Store
from .flows import actor_for
from .impersonation import may_impersonate
from .store import delete_impersonations


def banned_now(ctx: AuthContext, user: User) -> bool:
    """Whether the user is banned at this moment (an expired ban is not)."""
    if not user.extra.get("banned"):
        return False
    expires = user.extra.get("banExpires")
    return expires is None or expires > ctx.now()


async def check_session(ctx: AuthContext, session: Session, user: User) -> bool:
    if banned_now(ctx, user):
        return False
    impersonator_id = session.extra.get("impersonatedBy")
    if not impersonator_id:
        return True
    impersonator = await ctx.store.find_user_by_id(str(impersonator_id))
    if impersonator is None or banned_now(ctx, impersonator):
        return False
    return may_impersonate(actor_for(ctx, impersonator), user)


async def check_user(ctx: AuthContext, user: User) -> bool:
    """A credential that is no session (a JWT, an API key) of a banned user is refused."""
    return not banned_now(ctx, user)


async def end_impersonations(ctx: AuthContext, tx: Store, change: SessionsEnding) -> None:
    """The user's sessions ended (sign-out everywhere, a reset, a ban, a new password): so do
    the impersonations they started, which a thief holding their cookie might have opened."""
    await delete_impersonations(tx, change.user_id)


def is_impersonation(session: Session) -> bool:
    """An admin acting as the user (``Hooks.delegated``)."""
    return bool(session.extra.get("impersonatedBy"))
