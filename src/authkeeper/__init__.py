"""authkeeper: authentication and user management, wire-compatible with Better Auth.

The public names resolve on first use (PEP 562), so importing a light subpackage such as
:mod:`authkeeper.verifier` does not load the server (SQLAlchemy, argon2, the plugins): a service
that only verifies tokens installs PyJWT, cryptography and httpx, nothing more.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from .plugins.jwt.settings import JwtSettings
    from .plugins.two_factor.settings import TwoFactorSettings

_SOURCES = {
    "Authkeeper": ".auth",
    "migrate": ".auth",
    "ConfigError": ".config",
    "load_settings": ".config",
    "AuthError": ".core.errors",
    "AdditionalField": ".core.settings",
    "CookieSettings": ".core.settings",
    "DatabaseSettings": ".core.settings",
    "EmailPasswordSettings": ".core.settings",
    "LockoutSettings": ".core.settings",
    "MailSettings": ".core.settings",
    "PasswordSettings": ".core.settings",
    "RateLimitRule": ".core.settings",
    "RateLimitSettings": ".core.settings",
    "SessionSettings": ".core.settings",
    "Settings": ".core.settings",
    "UserSettings": ".core.settings",
    "AdminSettings": ".plugins.admin.settings",
    "TwoFactorSettings": ".plugins.two_factor.settings",
    "JwtSettings": ".plugins.jwt.settings",
}
"""Where each public name lives."""

__all__ = [
    "AdditionalField",
    "AdminSettings",
    "AuthError",
    "Authkeeper",
    "ConfigError",
    "CookieSettings",
    "DatabaseSettings",
    "EmailPasswordSettings",
    "JwtSettings",
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


def __getattr__(name: str) -> Any:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(source, __name__), name)
    globals()[name] = value  # resolved once: later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
