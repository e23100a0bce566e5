"""The admin plugin's error codes: Better Auth's names, messages and statuses (spec §8.2).

Better Auth answers a few admin errors with a bare message; authkeeper always sends
``{code, message}``, the code derived from the message as better-call once did.
"""

from __future__ import annotations

from ...core import errors
from ...core.errors import define

# Permission refusals (403).
YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE = define(
    "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE", 403, "You are not allowed to change users role"
)
YOU_ARE_NOT_ALLOWED_TO_CREATE_USERS = define(
    "YOU_ARE_NOT_ALLOWED_TO_CREATE_USERS", 403, "You are not allowed to create users"
)
YOU_ARE_NOT_ALLOWED_TO_LIST_USERS = define(
    "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS", 403, "You are not allowed to list users"
)
YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS = define(
    "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS", 403, "You are not allowed to list users sessions"
)
YOU_ARE_NOT_ALLOWED_TO_BAN_USERS = define("YOU_ARE_NOT_ALLOWED_TO_BAN_USERS", 403, "You are not allowed to ban users")
YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS = define(
    "YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS", 403, "You are not allowed to impersonate users"
)
YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS = define(
    "YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS", 403, "You are not allowed to revoke users sessions"
)
YOU_ARE_NOT_ALLOWED_TO_DELETE_USERS = define(
    "YOU_ARE_NOT_ALLOWED_TO_DELETE_USERS", 403, "You are not allowed to delete users"
)
YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD = define(
    "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD", 403, "You are not allowed to set users password"
)
YOU_ARE_NOT_ALLOWED_TO_GET_USER = define("YOU_ARE_NOT_ALLOWED_TO_GET_USER", 403, "You are not allowed to get user")
YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS = define(
    "YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS", 403, "You are not allowed to update users"
)
YOU_CANNOT_IMPERSONATE_ADMINS = define("YOU_CANNOT_IMPERSONATE_ADMINS", 403, "You cannot impersonate admins")
YOU_ARE_NOT_ALLOWED_TO_LIST_AUDIT_EVENTS = define(
    "YOU_ARE_NOT_ALLOWED_TO_LIST_AUDIT_EVENTS", 403, "You are not allowed to list audit events"
)
FORBIDDEN = errors.FORBIDDEN
"""Refusal by the FastAPI dependencies ``require_role`` / ``require_permission``."""

# Input the admin may not send (400).
YOU_CANNOT_BAN_YOURSELF = define("YOU_CANNOT_BAN_YOURSELF", 400, "You cannot ban yourself")
YOU_CANNOT_REMOVE_YOURSELF = define("YOU_CANNOT_REMOVE_YOURSELF", 400, "You cannot remove yourself")
YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE = define(
    "YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE", 400, "You are not allowed to set a non-existent role value"
)
INVALID_ROLE_TYPE = define("INVALID_ROLE_TYPE", 400, "Invalid role type")
NO_DATA_TO_UPDATE = define("NO_DATA_TO_UPDATE", 400, "No data to update")
PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER = define(
    "PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER",
    400,
    "Password cannot be updated through update-user. Use the set-user-password endpoint instead",
)
USER_ID_CANNOT_BE_UPDATED = define("USER_ID_CANNOT_BE_UPDATED", 400, "User id cannot be updated")
INVALID_PERMISSION_CHECK = define(
    "INVALID_PERMISSION_CHECK", 400, "invalid permission check. no permission(s) were passed."
)
YOU_ARE_NOT_IMPERSONATING_ANYONE = define("YOU_ARE_NOT_IMPERSONATING_ANYONE", 400, "You are not impersonating anyone")

# Sign-in of a banned user (the message comes from ``AdminSettings.banned_user_message``).
BANNED_USER = define("BANNED_USER", 403, "You have been banned from this application")

# Impersonation that cannot be undone (500, as Better Auth).
FAILED_TO_FIND_USER = define("FAILED_TO_FIND_USER", 500, "Failed to find user")
FAILED_TO_FIND_ADMIN_SESSION = define("FAILED_TO_FIND_ADMIN_SESSION", 500, "Failed to find admin session")
