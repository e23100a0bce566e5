"""The admin plugin's pages: the users table, a user's page with its actions, and the
site-wide audit log (:mod:`.users`, :mod:`.audit`); the "Admin" link of the pages' header, for
those who may list users; the bar shown while acting as another user; what the pages say for
the plugin's error codes and notices. The factory declares them (``pages=``, ``page_links=``,
``templates=``: the ``templates/admin/`` folder of the plugin).
"""

from __future__ import annotations

from typing import Any

from ....core.context import AuthContext
from ....pages.messages import FORM
from ....pages.routes import Route, get, post
from .. import flows
from . import audit, users


async def admin_link(ctx: AuthContext, page: Any) -> tuple[str, str] | None:
    """ "Admin" in the header, for a visitor who may list users."""
    if page.call.resolved is None:
        return None
    actor = flows.actor_for(ctx, page.me, page.my_session)
    return ("Admin", "/admin") if actor.can(flows.LIST[0]) else None


BANNERS = ("admin/_banner.html",)
"""Above every page: "You are acting as …" with the button to stop, while impersonating."""

MESSAGES: dict[str, tuple[str, str]] = {
    "YOU_CANNOT_BAN_YOURSELF": (FORM, "You cannot ban yourself."),
    "YOU_CANNOT_REMOVE_YOURSELF": (FORM, "You cannot delete your own account from here."),
    "YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE": ("role", "Choose one of the listed roles."),
    "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE": ("role", "You may not give or change this role."),
    "YOU_CANNOT_IMPERSONATE_ADMINS": (FORM, "You may not act as another administrator."),
    "YOU_ARE_NOT_IMPERSONATING_ANYONE": (FORM, "You are not acting as another user."),
    "FAILED_TO_FIND_ADMIN_SESSION": (FORM, "Your own session has ended. Sign in again."),
    "BANNED_USER": (FORM, "{message}"),
}
"""What the pages say for the plugin's error codes (``Plugin.page_messages``)."""

NOTICES = {
    "role-changed": "The role is changed.",
    "user-banned": "The user is banned and signed out everywhere.",
    "user-unbanned": "The ban is lifted.",
    "account-unlocked": "The account is unlocked: the user can sign in again.",
    "sessions-revoked": "The user's sessions are signed out.",
    "user-session-revoked": "The session is signed out.",
    "user-password-set": "The password is set.",
    "user-deleted": "The user is deleted.",
    "impersonation-stopped": "You are back in your own account.",
}

ROUTES: tuple[Route, ...] = (
    get("/admin", users.users_page, "session"),
    get("/admin/audit", audit.audit_page, "session"),
    get("/admin/users/{id}", users.user_page, "session"),
    post("/admin/users/{id}/role", users.set_role, "session"),
    post("/admin/users/{id}/ban", users.ban, "session"),
    post("/admin/users/{id}/unban", users.unban, "session"),
    post("/admin/users/{id}/revoke-sessions", users.revoke_sessions, "session"),
    post("/admin/users/{id}/revoke-session", users.revoke_session, "session"),
    post("/admin/users/{id}/password", users.set_password, "session"),
    post("/admin/users/{id}/delete", users.delete, "session"),
    post("/admin/users/{id}/unlock", users.unlock, "session"),
    post("/admin/users/{id}/impersonate", users.impersonate, "session"),
    post("/admin/stop-impersonating", users.stop_impersonating, "session"),
)
