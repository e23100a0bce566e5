"""authkeeper: authentication and user management, wire-compatible with Better Auth."""

from .auth import Authkeeper
from .config import ConfigError, load_settings
from .core.errors import AuthError
from .core.settings import (
    AdditionalField,
    CookieSettings,
    DatabaseSettings,
    EmailPasswordSettings,
    LockoutSettings,
    MailSettings,
    PasswordSettings,
    RateLimitRule,
    RateLimitSettings,
    SessionSettings,
    Settings,
    UserSettings,
)

__all__ = [
    "AdditionalField",
    "AuthError",
    "Authkeeper",
    "ConfigError",
    "CookieSettings",
    "DatabaseSettings",
    "EmailPasswordSettings",
    "LockoutSettings",
    "MailSettings",
    "PasswordSettings",
    "RateLimitRule",
    "RateLimitSettings",
    "SessionSettings",
    "Settings",
    "UserSettings",
    "load_settings",
]
