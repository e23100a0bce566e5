"""The users table (search, filters, sort, pages) and a user's page (role, ban, lockout,
sessions, password, deletion, impersonation, audit events; the long sections on tabs,
``?tab=sessions|audit|actions``, plain links).

Who may do what is decided by :mod:`..access` through the admin flows, which check the
permission themselves; the pages only ask the same module which forms to show. A refusal
is the styled 403 page (or the error next to the form).
"""

from __future__ import annotations

import math
from typing import Any

from starlette.responses import Response

from ....core import errors
from ....core.queries import AuditQuery, Listed, UserQuery
from ....pages.page import Form, Page
from .. import bans, flows, impersonation
from ..access import Actor
from ..endpoints import apply_impersonation, end_impersonation
from ..settings import AdminSettings
from .common import PAGE_SIZE, actor, page_number, plural, user_names

SORTS = {"createdAt": "Joined", "name": "Name", "email": "Email", "role": "Role"}
BAN_DURATIONS = (
    ("3600", "1 hour"),
    ("86400", "1 day"),
    ("604800", "7 days"),
    ("2592000", "30 days"),
    ("", "Until lifted"),
)

ROLE = Form("role", ("role",))
BAN = Form("ban", ("ban_reason", "ban_duration"))
UNBAN = Form("unban", ())
SESSIONS = Form("sessions", ())
PASSWORD = Form("set-password", ("new_password",))
DELETE = Form("delete-user", ())
IMPERSONATE = Form("impersonate", ())
UNLOCK = Form("unlock", ())

TABS = {"overview": "Overview", "sessions": "Sessions", "audit": "Audit", "actions": "Password, delete"}
FORM_TABS = {"sessions": "sessions", "set-password": "actions", "delete-user": "actions"}
"""The tab a form is on, shown again with the form's error."""
OVERVIEW_SESSIONS = 2
OVERVIEW_EVENTS = 5
USER_EVENTS = 50


# -- the users table -----------------------------------------------------------------------
def user_query(page: Page) -> tuple[UserQuery, dict[str, str], int]:
    """The list's search from the query string (unknown values fall back to defaults)."""
    roles = page.ctx.settings.section(AdminSettings).roles
    q = page.query("q").strip()[:200]
    field = page.query("field") if page.query("field") in ("email", "name") else "email"
    role = page.query("role") if page.query("role") in roles else ""
    status = page.query("status") if page.query("status") in ("banned", "active") else ""
    verified = page.query("verified") if page.query("verified") in ("yes", "no") else ""
    sort = page.query("sort") if page.query("sort") in SORTS else "createdAt"
    direction = (
        page.query("dir") if page.query("dir") in ("asc", "desc") else ("desc" if sort == "createdAt" else "asc")
    )
    number = page_number(page)
    filters: list[tuple[str, Any, Any]] = []
    if status:
        filters.append(("banned", "eq" if status == "banned" else "ne", True))
    if verified:
        filters.append(("emailVerified", "eq", verified == "yes"))
    query = UserQuery(
        search_field=field,
        search_operator="contains",
        search_value=q or None,
        filters=tuple(filters),
        listed=Listed("role", role, page.ctx.settings.section(AdminSettings).default_role) if role else None,
        sort_by=sort,
        sort_direction=direction,  # type: ignore[arg-type]
        limit=PAGE_SIZE,
        offset=(number - 1) * PAGE_SIZE,
    )
    state = {
        "q": q,
        "field": field,
        "role": role,
        "status": status,
        "verified": verified,
        "sort": sort,
        "dir": direction,
    }
    return query, state, number


async def users_page(page: Page) -> Response:
    who = actor(page)
    query, state, number = user_query(page)
    users, total = await flows.list_users(page.ctx, who, query)
    pages = max(1, math.ceil(total / PAGE_SIZE))

    def link(**changes: str) -> str:
        merged = {**state, **changes}
        if merged.get("page") == "1":
            merged.pop("page")
        return page.url("/admin", **merged)

    def sort_link(column: str) -> str:
        flip = "desc" if state["sort"] == column and state["dir"] == "asc" else "asc"
        return link(sort=column, dir=flip)

    return page.render(
        "admin/users.html",
        users=users,
        total=total,
        number=number,
        pages=pages,
        state=state,
        roles=list(page.ctx.settings.section(AdminSettings).roles),
        sorts=SORTS,
        link=link,
        sort_link=sort_link,
        first=(number - 1) * PAGE_SIZE + 1 if users else 0,
        last=(number - 1) * PAGE_SIZE + len(users),
        access=who.access,
        can_audit=who.can(flows.LIST_AUDIT[0]),
    )


# -- one user ------------------------------------------------------------------------------
async def user_context(page: Page, who: Actor, user_id: str, tab: str | None = None) -> dict[str, Any]:
    target = await flows.get_user(page.ctx, who, user_id)
    # Actions on the target, and its sessions, only for an actor ranking above it (as the flows check).
    manage = who.may_manage(target)
    can = {
        name: who.can(rule[0]) and manage
        for name, rule in (
            ("role", flows.SET_ROLE),
            ("ban", flows.BAN),
            ("sessions", flows.LIST_SESSIONS),
            ("revoke", flows.REVOKE_SESSIONS),
            ("password", flows.SET_PASSWORD),
            ("delete", flows.DELETE),
        )
    }
    can["impersonate"] = impersonation.may_impersonate(who, target)
    can["audit"] = who.can(flows.LIST_AUDIT[0])
    can["unlock"] = who.can(flows.UNLOCK[0]) and manage
    self_view = target.id == who.id
    can["actions"] = can["password"] or (can["delete"] and not self_view)
    tabs = [name for name in TABS if name == "overview" or can[name]]
    tab = tab or page.query("tab")
    tab = tab if tab in tabs else "overview"
    found = await flows.list_user_sessions(page.ctx, who, target.id) if can["sessions"] else []
    user_sessions = [{"session": s, "handle": flows.session_handle(s)} for s in found]
    events: list[Any] = []
    actors: dict[str, str] = {}
    total_events = 0
    if can["audit"] and tab in ("overview", "audit"):
        limit = OVERVIEW_EVENTS if tab == "overview" else USER_EVENTS
        events, total_events = await flows.list_audit(page.ctx, who, AuditQuery(user_id=target.id, limit=limit))
        actors = await user_names(page, {e.actor_id for e in events if e.actor_id and e.actor_id != target.id})
    failures, locked_until = await flows.lockout_state(page.ctx, target)
    return {
        "target": target,
        "can": can,
        "self_view": self_view,
        "user_sessions": user_sessions,
        "events": events,
        "actors": actors,
        "total_events": total_events,
        "tab": tab,
        "tabs": {name: TABS[name] for name in tabs},
        "overview_sessions": OVERVIEW_SESSIONS,
        "failures": failures,
        "locked_until": locked_until,
        "target_roles": who.access.roles_of(target),
        "roles": list(page.ctx.settings.section(AdminSettings).roles),
        "durations": BAN_DURATIONS,
        "plural": plural,
        "can_audit": can["audit"],
    }


async def user_page(page: Page) -> Response:
    who = actor(page)
    return page.render("admin/user.html", **await user_context(page, who, page.params["id"]))


async def _again(page: Page, who: Actor, exc: errors.AuthError, form: Form, keep: tuple[str, ...] = ()) -> Response:
    context = await user_context(page, who, page.params["id"], FORM_TABS.get(form.id, "overview"))
    return page.fail("admin/user.html", exc, form, keep=keep, aliases={"password": "new_password"}, **context)


def _back(page: Page, notice: str) -> Response:
    return page.redirect(page.url(f"/admin/users/{page.params['id']}"), notice)


async def set_role(page: Page) -> Response:
    who = actor(page)
    try:
        await page.limit("/admin/set-role")
        await flows.set_role(page.ctx, who, page.params["id"], page.text("role", 255), page.call.client)
    except errors.AuthError as exc:
        return await _again(page, who, exc, ROLE)
    return _back(page, "role-changed")


async def ban(page: Page) -> Response:
    who = actor(page)
    duration = page.form.get("ban_duration", "")
    try:
        await page.limit("/admin/ban-user")
        await bans.ban_user(
            page.ctx,
            who,
            page.params["id"],
            reason=page.text("ban_reason", 1000) or None,
            expires_in=int(duration) if duration.isascii() and duration.isdigit() else None,
            client=page.call.client,
        )
    except errors.AuthError as exc:
        return await _again(page, who, exc, BAN, keep=("ban_reason", "ban_duration"))
    return _back(page, "user-banned")


async def unban(page: Page) -> Response:
    who = actor(page)
    try:
        await page.limit("/admin/unban-user")
        await bans.unban_user(page.ctx, who, page.params["id"], page.call.client)
    except errors.AuthError as exc:
        return await _again(page, who, exc, UNBAN)
    return _back(page, "user-unbanned")


async def revoke_sessions(page: Page) -> Response:
    who = actor(page)
    try:
        await page.limit("/admin/revoke-user-sessions")
        await flows.revoke_user_sessions(page.ctx, who, page.params["id"], page.call.client)
    except errors.AuthError as exc:
        return await _again(page, who, exc, SESSIONS)
    return _back(page, "sessions-revoked")


async def revoke_session(page: Page) -> Response:
    who = actor(page)
    try:
        await page.limit("/admin/revoke-user-session")
        await flows.revoke_user_session(page.ctx, who, page.text("handle", 512), page.call.client)
    except errors.AuthError as exc:
        return await _again(page, who, exc, SESSIONS)
    return _back(page, "user-session-revoked")


async def set_password(page: Page) -> Response:
    who = actor(page)
    try:
        await page.limit("/admin/set-user-password")
        await flows.set_user_password(page.ctx, who, page.params["id"], page.secret("new_password"), page.call.client)
    except errors.AuthError as exc:
        return await _again(page, who, exc, PASSWORD)
    return _back(page, "user-password-set")


async def delete(page: Page) -> Response:
    who = actor(page)
    try:
        await page.limit("/admin/remove-user")
        await flows.remove_user(page.ctx, who, page.params["id"], page.call.client)
    except errors.AuthError as exc:
        return await _again(page, who, exc, DELETE)
    return page.redirect(page.url("/admin"), "user-deleted")


async def unlock(page: Page) -> Response:
    who = actor(page)
    try:
        await page.limit("/admin/unlock-user")
        await flows.unlock_user(page.ctx, who, page.params["id"], page.call.client)
    except errors.AuthError as exc:
        return await _again(page, who, exc, UNLOCK)
    return _back(page, "account-unlocked")


async def impersonate(page: Page) -> Response:
    """Act as the user: cookies as the API's impersonate-user sets them."""
    who = actor(page)
    call = page.call
    try:
        await page.limit("/admin/impersonate-user")
        switched = await impersonation.impersonate(page.ctx, who, page.params["id"], call.client)
    except errors.AuthError as exc:
        return await _again(page, who, exc, IMPERSONATE)
    apply_impersonation(call, switched)
    return page.redirect(page.url("/account"))


async def stop_impersonating(page: Page) -> Response:
    await page.limit("/admin/stop-impersonating")
    user_id = page.me.id
    await end_impersonation(page.call)
    return page.redirect(page.url(f"/admin/users/{user_id}"), "impersonation-stopped")
