"""authkeeper: authentication and user management, wire-compatible with Better Auth."""

from .auth import Authkeeper, migrate
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
from .plugins.admin.settings import AdminSettings
from .plugins.two_factor.settings import TwoFactorSettings

__all__ = [
    "AdditionalField",
    "AdminSettings",
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
    "TwoFactorSettings",
    "UserSettings",
    "load_settings",
    "migrate",
]
