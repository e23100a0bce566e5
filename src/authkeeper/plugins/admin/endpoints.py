"""The ``/admin/*`` endpoints (spec §8.2) and ``GET /admin/audit-events``, each a thin
call into :mod:`.flows`, :mod:`.bans` or :mod:`.impersonation`.

Every endpoint needs a session (401 ``UNAUTHORIZED``) and checks the caller's permission
before it reads the body, so a refusal (403) never depends on the input.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import Field
from starlette.responses import Response

from ...core import errors
from ...http.api import user_json
from ...web.body import Body, validate
from ...web.call import Call, Endpoint, Handler
from . import bans, flows, impersonation, queries
from . import errors as admin_errors
from .access import Actor
from .constants import ADMIN_SESSION_COOKIE
from .flows import Rule

UserId = str | int
"""Better Auth coerces ``userId`` to a string (numeric ids of ``serial`` databases)."""


class UserIdBody(Body):
    userId: UserId


class CreateUserBody(Body):
    email: str = Field(max_length=320, json_schema_extra={"format": "email"})
    password: str | None = Field(default=None, max_length=4096)
    name: str = Field(max_length=255)
    role: str | list[str] | None = None
    data: dict[str, Any] | None = None


class UpdateUserBody(Body):
    userId: UserId
    data: dict[str, Any]


class SetRoleBody(Body):
    userId: UserId
    role: str | list[str]


class BanUserBody(Body):
    userId: UserId
    banReason: str | None = Field(default=None, max_length=1000)
    banExpiresIn: int | float | None = None


class RevokeSessionBody(Body):
    sessionToken: str = Field(max_length=512)


class SetUserPasswordBody(Body):
    userId: UserId
    newPassword: str = Field(min_length=1, max_length=4096)


class HasPermissionBody(Body):
    permissions: dict[str, list[str]] | None = None
    userId: UserId | None = None
    role: str | None = None


LIST_USERS_QUERY = (
    "searchValue",
    "searchField",
    "searchOperator",
    "limit",
    "offset",
    "sortBy",
    "sortDirection",
    "filterField",
    "filterValue",
    "filterOperator",
)
"""What :func:`.queries.user_query` reads (documented in ``/openapi.json``)."""
AUDIT_QUERY = ("userId", "event", "since", "until", "limit", "offset")
"""What :func:`.queries.audit_query` reads."""

AdminHandler = Callable[[Call, Actor, Any], Awaitable[Response]]


def guarded(rule: Rule | None, model: type[Body] | None, handler: AdminHandler) -> Handler:
    """The caller as an :class:`Actor`; their permission checked, then the body validated."""

    async def run(call: Call) -> Response:
        actor = flows.actor_for(call.ctx, call.user, call.session)
        if rule is not None:
            actor.require(*rule)
        body = validate(model, call.raw) if model is not None else None
        return await handler(call, actor, body)

    run.__name__ = handler.__name__
    return run


# -- users ------------------------------------------------------------------------------
async def create_user(call: Call, actor: Actor, b: CreateUserBody) -> Response:
    user = await flows.create_user(
        call.ctx,
        actor,
        email=b.email,
        name=b.name,
        password=b.password,
        role=b.role,
        data=b.data,
        client=call.client,
    )
    return call.json({"user": user_json(call, user)})


async def list_users(call: Call, actor: Actor, _: None) -> Response:
    query, echo = queries.user_query(call.request.query_params, call.ctx.settings, call.ctx.user_fields.columns)
    users, total = await flows.list_users(call.ctx, actor, query)
    return call.json({"users": [user_json(call, u) for u in users], "total": total, **echo})


async def get_user(call: Call, actor: Actor, _: None) -> Response:
    user_id = call.query("id")
    if user_id is None:
        raise errors.AuthError(
            errors.VALIDATION_ERROR, "Invalid input: expected string, received undefined", field="id", source="query"
        )
    return call.json(user_json(call, await flows.get_user(call.ctx, actor, user_id)))


async def update_user(call: Call, actor: Actor, b: UpdateUserBody) -> Response:
    user = await flows.update_user(call.ctx, actor, str(b.userId), b.data, call.client)
    return call.json(user_json(call, user))


async def set_role(call: Call, actor: Actor, b: SetRoleBody) -> Response:
    user = await flows.set_role(call.ctx, actor, str(b.userId), b.role, call.client)
    return call.json({"user": user_json(call, user)})


async def ban_user(call: Call, actor: Actor, b: BanUserBody) -> Response:
    user = await bans.ban_user(
        call.ctx, actor, str(b.userId), reason=b.banReason, expires_in=b.banExpiresIn, client=call.client
    )
    return call.json({"user": user_json(call, user)})


async def unban_user(call: Call, actor: Actor, b: UserIdBody) -> Response:
    user = await bans.unban_user(call.ctx, actor, str(b.userId), call.client)
    return call.json({"user": user_json(call, user)})


async def remove_user(call: Call, actor: Actor, b: UserIdBody) -> Response:
    await flows.remove_user(call.ctx, actor, str(b.userId), call.client)
    return call.json({"success": True})


async def unlock_user(call: Call, actor: Actor, b: UserIdBody) -> Response:
    await flows.unlock_user(call.ctx, actor, str(b.userId), call.client)
    return call.json({"success": True})


async def set_user_password(call: Call, actor: Actor, b: SetUserPasswordBody) -> Response:
    await flows.set_user_password(call.ctx, actor, str(b.userId), b.newPassword, call.client)
    return call.json({"status": True})


# -- sessions ---------------------------------------------------------------------------
async def list_user_sessions(call: Call, actor: Actor, b: UserIdBody) -> Response:
    found = await flows.list_user_sessions(call.ctx, actor, str(b.userId))
    return call.json({"sessions": [s.to_json(token=flows.session_handle(s)) for s in found]})


async def revoke_user_session(call: Call, actor: Actor, b: RevokeSessionBody) -> Response:
    await flows.revoke_user_session(call.ctx, actor, b.sessionToken, call.client)
    return call.json({"success": True})


async def revoke_user_sessions(call: Call, actor: Actor, b: UserIdBody) -> Response:
    await flows.revoke_user_sessions(call.ctx, actor, str(b.userId), call.client)
    return call.json({"success": True})


# -- impersonation ----------------------------------------------------------------------
def apply_impersonation(call: Call, switched: impersonation.Switched) -> None:
    """Cookies for acting as another user: the admin's own session kept aside in a signed
    cookie, the user's session in the session cookie (the endpoint and the pages both)."""
    admin_value = impersonation.admin_cookie_value(call.session.token, call.dont_remember())
    call.clear_session_cookies()
    call.set_signed_cookie(ADMIN_SESSION_COOKIE, admin_value, call.ctx.settings.session.expires_in)
    call.set_session_cookie(switched.session.token, remember=False)


async def end_impersonation(call: Call) -> impersonation.Switched:
    """Back to the admin's own session named by the admin cookie, with its cookies (the
    endpoint and the pages both)."""
    signed = call.request.cookies.get(call.cookies.name(ADMIN_SESSION_COOKIE))
    switched = await impersonation.stop_impersonating(
        call.ctx, call.session, call.ctx.signer.unsign(signed), call.client
    )
    call.set_cookies.append(call.cookies.delete(call.cookies.session_data))
    call.set_session_cookie(switched.session.token, remember=switched.remember, expires_at=switched.session.expires_at)
    call.delete_cookie(ADMIN_SESSION_COOKIE)
    return switched


async def impersonate_user(call: Call, actor: Actor, b: UserIdBody) -> Response:
    switched = await impersonation.impersonate(call.ctx, actor, str(b.userId), call.client)
    apply_impersonation(call, switched)
    return call.json({"session": switched.session.to_json(), "user": user_json(call, switched.user)})


async def stop_impersonating(call: Call) -> Response:
    switched = await end_impersonation(call)
    return call.json({"session": switched.session.to_json(), "user": user_json(call, switched.user)})


# -- permissions and the audit log ------------------------------------------------------
async def has_permission(call: Call) -> Response:
    """The caller's own permissions, as Better Auth over HTTP (``userId``/``role`` in the
    body are for server-side calls and are ignored here)."""
    b = validate(HasPermissionBody, call.raw)
    assert isinstance(b, HasPermissionBody)
    if not b.permissions or not any(b.permissions.values()):
        raise errors.AuthError(admin_errors.INVALID_PERMISSION_CHECK)
    success = flows.has_permission(call.ctx, call.user, b.permissions)
    return call.json({"error": None, "success": success})


async def audit_events(call: Call, actor: Actor, _: None) -> Response:
    query = queries.audit_query(call.request.query_params, call.ctx.audit_events)
    events, total = await flows.list_audit(call.ctx, actor, query)
    return call.json(
        {"events": [e.to_json() for e in events], "total": total, "limit": query.limit, "offset": query.offset}
    )


def endpoints() -> tuple[Endpoint, ...]:
    def admin(
        method: str,
        path: str,
        rule: Rule | None,
        model: type[Body] | None,
        handler: AdminHandler,
        query: tuple[str, ...] = (),
        statuses: tuple[int, ...] = (403, 404),
    ) -> Endpoint:
        # 403: the permission; 404: the user named does not exist.
        return Endpoint(
            method, path, guarded(rule, model, handler), auth="session", query=query, statuses=statuses, body_doc=model
        )

    return (
        admin("POST", "/admin/create-user", flows.CREATE, CreateUserBody, create_user, statuses=(403,)),
        admin("GET", "/admin/list-users", flows.LIST, None, list_users, LIST_USERS_QUERY, (403,)),
        admin("GET", "/admin/get-user", flows.GET, None, get_user, ("id",)),
        admin("POST", "/admin/update-user", flows.UPDATE, UpdateUserBody, update_user),
        admin("POST", "/admin/set-role", flows.SET_ROLE, SetRoleBody, set_role),
        admin("POST", "/admin/ban-user", flows.BAN, BanUserBody, ban_user),
        admin("POST", "/admin/unban-user", flows.BAN, UserIdBody, unban_user),
        admin("POST", "/admin/list-user-sessions", flows.LIST_SESSIONS, UserIdBody, list_user_sessions),
        admin("POST", "/admin/revoke-user-session", flows.REVOKE_SESSIONS, RevokeSessionBody, revoke_user_session),
        admin("POST", "/admin/revoke-user-sessions", flows.REVOKE_SESSIONS, UserIdBody, revoke_user_sessions),
        admin("POST", "/admin/remove-user", flows.DELETE, UserIdBody, remove_user),
        admin("POST", "/admin/set-user-password", flows.SET_PASSWORD, SetUserPasswordBody, set_user_password),
        admin("POST", "/admin/unlock-user", flows.UNLOCK, UserIdBody, unlock_user),
        admin("POST", "/admin/impersonate-user", flows.IMPERSONATE, UserIdBody, impersonate_user),
        admin("GET", "/admin/audit-events", flows.LIST_AUDIT, None, audit_events, AUDIT_QUERY, (403,)),
        Endpoint("POST", "/admin/stop-impersonating", stop_impersonating, auth="session"),
        Endpoint("POST", "/admin/has-permission", has_permission, auth="session", body_doc=HasPermissionBody),
    )
