"""Admin pages: the users table (search, filters, sort, pages), a user's page (role, ban,
lockout, sessions, password, deletion, impersonation, audit events; the long sections on tabs,
``?tab=sessions|audit|actions``, plain links) and the site-wide audit log (``/admin/audit``:
the filters of ``GET /admin/audit-events`` as a GET form).

Who may do what is decided by :mod:`authkeeper.plugins.admin.access` through the admin
flows, which check the permission themselves; the pages only ask the same module which
forms to show. A refusal is the styled 403 page (or the error next to the form).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.responses import Response

from ..core import errors
from ..core.audit import Event
from ..core.models import parse_iso
from ..core.users import normalise_email
from ..plugins.admin import bans, flows, impersonation
from ..plugins.admin.access import Actor
from ..plugins.admin.endpoints import apply_impersonation, end_impersonation
from ..plugins.admin.store import admin_store
from ..storage.sql_plugins import AuditQuery, UserQuery
from .page import Form, Page
from .routes import get, post

PAGE_SIZE = 25
SORTS = {"createdAt": "Joined", "name": "Name", "email": "Email", "role": "Role"}
BAN_DURATIONS = (
    ("3600", "1 hour"), ("86400", "1 day"), ("604800", "7 days"), ("2592000", "30 days"), ("", "Until lifted"),
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
AUDIT_PAGE_SIZE = 50
EVENTS = tuple(e.value for e in Event)


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 event``, ``2 events`` (``many`` for an irregular plural)."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def _page_number(page: Page) -> int:
    raw = page.query("page")
    number = int(raw) if raw.isascii() and raw.isdigit() else 1
    return max(1, min(number, 100_000))


def _plugin(page: Page) -> None:
    if not page.ctx.settings.admin.enabled:
        raise errors.AuthError(errors.NOT_FOUND)


def actor(page: Page) -> Actor:
    _plugin(page)
    return flows.actor_for(page.ctx, page.me, page.my_session)


# -- the users table -----------------------------------------------------------------------
def user_query(page: Page) -> tuple[UserQuery, dict[str, str], int]:
    """The list's search from the query string (unknown values fall back to defaults)."""
    roles = page.ctx.settings.admin.roles
    q = page.query("q").strip()[:200]
    field = page.query("field") if page.query("field") in ("email", "name") else "email"
    role = page.query("role") if page.query("role") in roles else ""
    status = page.query("status") if page.query("status") in ("banned", "active") else ""
    verified = page.query("verified") if page.query("verified") in ("yes", "no") else ""
    sort = page.query("sort") if page.query("sort") in SORTS else "createdAt"
    direction = page.query("dir") if page.query("dir") in ("asc", "desc") else ("desc" if sort == "createdAt" else "asc")
    number = _page_number(page)
    filters: list[tuple[str, Any, Any]] = []
    if status:
        filters.append(("banned", "eq" if status == "banned" else "ne", True))
    if verified:
        filters.append(("emailVerified", "eq", verified == "yes"))
    query = UserQuery(
        search_field=field, search_operator="contains", search_value=q or None, filters=tuple(filters),
        has_role=role or None, default_role=page.ctx.settings.admin.default_role,
        sort_by=sort, sort_direction=direction, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE,  # type: ignore[arg-type]
    )
    state = {"q": q, "field": field, "role": role, "status": status, "verified": verified, "sort": sort, "dir": direction}
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
        "admin/users.html", users=users, total=total, number=number, pages=pages, state=state,
        roles=list(page.ctx.settings.admin.roles), sorts=SORTS, link=link, sort_link=sort_link,
        first=(number - 1) * PAGE_SIZE + 1 if users else 0, last=(number - 1) * PAGE_SIZE + len(users),
        access=who.access, can_audit=who.can(flows.LIST_AUDIT[0]),
    )


# -- one user ------------------------------------------------------------------------------
async def user_names(page: Page, user_ids: set[str]) -> dict[str, str]:
    """The users' names (else emails) by id, in one query; users no longer there are left out."""
    if not user_ids:
        return {}
    query = UserQuery(filters=(("id", "in", tuple(user_ids)),), limit=len(user_ids))
    found, _ = await admin_store(page.ctx.store).search_users(query)
    return {str(u.id): u.name or u.email for u in found}


async def user_context(page: Page, who: Actor, user_id: str, tab: str | None = None) -> dict[str, Any]:
    target = await flows.get_user(page.ctx, who, user_id)
    # Actions on the target, and its sessions, only for an actor ranking above it (as the flows check).
    manage = who.may_manage(target)
    can = {name: who.can(rule[0]) and manage for name, rule in (
        ("role", flows.SET_ROLE), ("ban", flows.BAN), ("sessions", flows.LIST_SESSIONS),
        ("revoke", flows.REVOKE_SESSIONS), ("password", flows.SET_PASSWORD), ("delete", flows.DELETE),
    )}
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
        "target": target, "can": can, "self_view": self_view, "user_sessions": user_sessions, "events": events,
        "actors": actors, "total_events": total_events, "tab": tab, "tabs": {name: TABS[name] for name in tabs},
        "overview_sessions": OVERVIEW_SESSIONS, "failures": failures, "locked_until": locked_until,
        "target_roles": who.access.roles_of(target), "roles": list(page.ctx.settings.admin.roles),
        "durations": BAN_DURATIONS, "plural": plural, "can_audit": can["audit"],
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
            page.ctx, who, page.params["id"], reason=page.text("ban_reason", 1000) or None,
            expires_in=int(duration) if duration.isascii() and duration.isdigit() else None, client=page.call.client,
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
    _plugin(page)
    await page.limit("/admin/stop-impersonating")
    user_id = page.me.id
    await end_impersonation(page.call)
    return page.redirect(page.url(f"/admin/users/{user_id}"), "impersonation-stopped")


# -- the site-wide audit log ---------------------------------------------------------------
def _day(value: str, *, end: bool = False) -> datetime | None:
    """A ``YYYY-MM-DD`` from the date field (its start, or the next day's for ``end``: the day
    is included), or an ISO 8601 time as the API takes; anything else is no filter."""
    value = value.strip()[:64]
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return parse_iso(value) if "T" in value else None
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start + timedelta(days=1) if end else start


async def audit_page(page: Page) -> Response:
    """Every audit event, newest first, filtered by event, user (an email or an id) and days.
    Unknown values are no filter (as on the users table); clients are redacted as the API does."""
    who = actor(page)
    event = page.query("event") if page.query("event") in EVENTS else ""
    user = page.query("user").strip()[:320]
    since, until = _day(page.query("since")), _day(page.query("until"), end=True)
    number = _page_number(page)
    state = {
        "event": event, "user": user,
        "since": page.query("since")[:64] if since else "", "until": page.query("until")[:64] if until else "",
    }
    user_id: str | None = user or None
    missing_user = False
    if "@" in user:
        found = await page.ctx.store.find_user_by_email(normalise_email(user))
        user_id = str(found.id) if found else None
        missing_user = found is None
    query = AuditQuery(user_id=user_id, events=(event,) if event else (), since=since, until=until,
                       limit=AUDIT_PAGE_SIZE, offset=(number - 1) * AUDIT_PAGE_SIZE)
    events: list[Any] = []
    total = 0
    if missing_user:
        who.require(*flows.LIST_AUDIT)
    else:
        events, total = await flows.list_audit(page.ctx, who, query)
    names = await user_names(page, {i for e in events for i in (e.user_id, e.actor_id) if i})
    pages = max(1, math.ceil(total / AUDIT_PAGE_SIZE))

    def link(**changes: str) -> str:
        merged = {**state, **changes}
        if merged.get("page") == "1":
            merged.pop("page")
        return page.url("/admin/audit", **merged)

    return page.render(
        "admin/audit.html", events=events, total=total, number=number, pages=pages, state=state, link=link,
        names=names, event_names=EVENTS, missing_user=missing_user, plural=plural, can_audit=True,
        first=(number - 1) * AUDIT_PAGE_SIZE + 1 if events else 0, last=(number - 1) * AUDIT_PAGE_SIZE + len(events),
        filtered=any(state.values()),
    )


ROUTES = [
    get("/admin", users_page, "session"),
    get("/admin/audit", audit_page, "session"),
    get("/admin/users/{id}", user_page, "session"),
    post("/admin/users/{id}/role", set_role, "session"),
    post("/admin/users/{id}/ban", ban, "session"),
    post("/admin/users/{id}/unban", unban, "session"),
    post("/admin/users/{id}/revoke-sessions", revoke_sessions, "session"),
    post("/admin/users/{id}/revoke-session", revoke_session, "session"),
    post("/admin/users/{id}/password", set_password, "session"),
    post("/admin/users/{id}/delete", delete, "session"),
    post("/admin/users/{id}/unlock", unlock, "session"),
    post("/admin/users/{id}/impersonate", impersonate, "session"),
    post("/admin/stop-impersonating", stop_impersonating, "session"),
]
