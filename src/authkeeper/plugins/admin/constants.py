"""Names and numbers of the admin plugin (Better Auth's, spec §2.1 and §8.2)."""

from __future__ import annotations

PLUGIN_ID = "admin"

ADMIN_SESSION_COOKIE = "admin_session"
"""Logical name of the signed ``<adminSessionToken>:<"true" or "">`` cookie kept while impersonating."""

ADMIN_ROLES = ("admin",)
"""Roles that count as admin: impersonating their holders needs ``user:impersonate-admins``,
and their holders may grant any defined role."""

DEFAULT_BAN_REASON = "No reason"

MAX_BAN_SECONDS = 100 * 365 * 86400
"""Longest ban accepted in ``banExpiresIn`` (about a century); longer means permanent (omit it)."""

BAN_STAGE_ORDER = 10
"""The ban check runs first among the sign-in stages (two-factor's is 50): a banned user is
never sent a second-factor challenge."""

SESSION_HANDLE_SEPARATOR = ":"
"""Admin session handles are ``sid_<sessionId>:<userId>``: revocable by an admin, never usable
as a session token (list-user-sessions shows no other user's real token)."""

CLI_ACTOR = "cli"
"""``actorId`` of audit events written by ``authkeeper users …`` on the command line."""
SYSTEM_ACTOR = "system"
"""``actorId`` of audit events nobody asked for (a ban lifted because it expired)."""

TWO_FACTOR_LOCKOUT_PREFIX = "two-factor:"
"""The store's lockout key of a user's two-factor attempts is ``two-factor:<userId>`` (the
two-factor plugin's documented key; a test checks both plugins agree). Unlocking clears it
through the store, without importing two-factor internals."""

AUDIT_MAX_LIMIT = 500
AUDIT_DEFAULT_LIMIT = 100
LIST_USERS_DEFAULT_LIMIT = 100
LIST_USERS_MAX_LIMIT = 1000
