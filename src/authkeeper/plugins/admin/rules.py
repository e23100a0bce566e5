"""The admin plugin's permission rules and who is acting: each rule is the permission a flow
needs and the error a refusal gives; the role model comes from the ``[admin]`` settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ...core import errors
from ...core.context import AuthContext
from ...core.errors import ErrorCode
from ...core.models import Session, User
from . import errors as admin_errors
from .access import AccessControl, Actor, Permissions
from .settings import AdminSettings

Rule = tuple[Permissions, ErrorCode]

CREATE: Rule = ({"user": ["create"]}, admin_errors.YOU_ARE_NOT_ALLOWED_TO_CREATE_USERS)
LIST: Rule = ({"user": ["list"]}, admin_errors.YOU_ARE_NOT_ALLOWED_TO_LIST_USERS)
GET: Rule = ({"user": ["get"]}, admin_errors.YOU_ARE_NOT_ALLOWED_TO_GET_USER)
UPDATE: Rule = ({"user": ["update"]}, admin_errors.YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS)
SET_ROLE: Rule = ({"user": ["set-role"]}, admin_errors.YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE)
BAN: Rule = ({"user": ["ban"]}, admin_errors.YOU_ARE_NOT_ALLOWED_TO_BAN_USERS)
IMPERSONATE: Rule = ({"user": ["impersonate"]}, admin_errors.YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS)
IMPERSONATE_ADMINS: Rule = ({"user": ["impersonate-admins"]}, admin_errors.YOU_CANNOT_IMPERSONATE_ADMINS)
DELETE: Rule = ({"user": ["delete"]}, admin_errors.YOU_ARE_NOT_ALLOWED_TO_DELETE_USERS)
SET_PASSWORD: Rule = ({"user": ["set-password"]}, admin_errors.YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD)
LIST_SESSIONS: Rule = ({"session": ["list"]}, admin_errors.YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS)
REVOKE_SESSIONS: Rule = ({"session": ["revoke"]}, admin_errors.YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS)
LIST_AUDIT: Rule = ({"audit": ["list"]}, admin_errors.YOU_ARE_NOT_ALLOWED_TO_LIST_AUDIT_EVENTS)
UNLOCK: Rule = UPDATE
"""Unlocking changes what the user may do, as update-user does: ``user:update``."""


# -- who is acting ----------------------------------------------------------------------
_ACCESS: dict[int, tuple[AdminSettings, AccessControl]] = {}


def access_control(ctx: AuthContext) -> AccessControl:
    """The role model of the ``[admin]`` settings (built once per settings object)."""
    section = ctx.settings.section(AdminSettings)
    cached = _ACCESS.get(id(section))
    if cached is None or cached[0] is not section:
        if len(_ACCESS) >= 16:  # settings objects come and go in tests; a few at a time live
            _ACCESS.clear()
        cached = _ACCESS[id(section)] = (section, AccessControl(section))
    return cached[1]


class RolePolicy:
    """The :class:`~authkeeper.core.services.AccessPolicy` this plugin provides."""

    def roles_of(self, ctx: AuthContext, user: User) -> tuple[str, ...]:
        return access_control(ctx).roles_of(user)

    def has_permission(self, ctx: AuthContext, user: User, permissions: Mapping[str, Sequence[str]]) -> bool:
        return has_permission(ctx, user, {resource: tuple(actions) for resource, actions in permissions.items()})


def actor_for(ctx: AuthContext, user: User, session: Session | None = None) -> Actor:
    return Actor.of(access_control(ctx), user, session)


def operator(ctx: AuthContext) -> Actor:
    """The command-line operator: every permission, recorded as ``actorId: "cli"``."""
    return Actor.operator(access_control(ctx))


def has_permission(ctx: AuthContext, user: User, permissions: Permissions) -> bool:
    access = access_control(ctx)
    return access.allows(access.roles_of(user), permissions)


def user_not_found() -> errors.AuthError:
    return errors.AuthError(errors.USER_NOT_FOUND, status=404)


async def find_target(ctx: AuthContext, user_id: str) -> User:
    user = await ctx.store.find_user_by_id(user_id)
    if user is None:
        raise user_not_found()
    return user
