"""The admin plugin's audit events (stable names: clients filter on them)."""

from __future__ import annotations

from enum import StrEnum


class AdminEvent(StrEnum):
    ROLE_CHANGED = "role-changed"
    USER_BANNED = "user-banned"
    USER_UNBANNED = "user-unbanned"
    IMPERSONATION_STARTED = "impersonation-started"
    IMPERSONATION_STOPPED = "impersonation-stopped"
    ACCOUNT_UNLOCKED = "account-unlocked"
    """An admin (or the CLI) cleared the user's sign-in and two-factor lockouts;
    ``sign_in_failures`` and ``two_factor_failures`` count what was cleared."""
