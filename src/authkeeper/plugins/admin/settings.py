"""The admin plugin's settings: the ``[admin]`` section."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...core.settings import register_section


def _default_roles() -> dict[str, dict[str, tuple[str, ...]]]:
    user_all = ("create", "list", "set-role", "ban", "impersonate", "delete", "set-password", "update", "get")
    return {
        "admin": {"user": user_all, "session": ("list", "revoke", "delete"), "audit": ("list",)},
        "moderator": {"user": ("list", "ban", "get"), "session": ("list", "revoke"), "audit": ("list",)},
        "user": {},
    }


@dataclass(frozen=True, kw_only=True, slots=True)
class AdminSettings:
    """Roles, permissions and admin user management, as Better Auth's admin plugin."""

    enabled: bool = True
    """Serve the ``/admin/*`` endpoints and refuse banned users."""
    roles: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=_default_roles)
    """Role → resource → allowed actions. Resources: user, session, audit."""
    default_role: str = "user"
    """Role of new users."""
    admin_emails: tuple[str, ...] = ()
    """These users are admins whatever their role column says."""
    admin_user_ids: tuple[str, ...] = ()
    """These users are admins whatever their role column says."""
    impersonation_session_duration: int = 3600
    """Lifetime of an impersonation session in seconds."""
    banned_user_message: str = (
        "You have been banned from this application. Please contact support if you believe this is an error."
    )
    """What a banned user is told (never the reason)."""

    def problems(self) -> list[str]:
        """What is out of range, one line each (``Settings.problems`` prefixes ``admin.``)."""
        if self.impersonation_session_duration <= 0:
            value = self.impersonation_session_duration
            return [f"impersonation_session_duration: must be a positive number of seconds, not {value}"]
        return []


register_section("admin", AdminSettings)
