"""One typed settings object, grouped by area.

Every field has a default and says what it does. Nothing in the core reads the
environment: ``authkeeper.config`` loads a TOML file and ``AUTHKEEPER_*`` variables
into these classes at the edge.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from .settings_areas import (
    AdditionalField,
    AuditSettings,
    CookieSettings,
    DatabaseSettings,
    EmailPasswordSettings,
    FieldType,
    LockoutSettings,
    MailSettings,
    PagesSettings,
    PasswordSettings,
    RateLimitRule,
    RateLimitSettings,
    SessionSettings,
    UserSettings,
)

__all__ = [
    "AdditionalField",
    "AuditSettings",
    "CookieSettings",
    "DatabaseSettings",
    "EmailPasswordSettings",
    "FieldType",
    "LockoutSettings",
    "MailSettings",
    "Mode",
    "PagesSettings",
    "PasswordSettings",
    "RateLimitRule",
    "RateLimitSettings",
    "SessionSettings",
    "Settings",
    "UserSettings",
    "register_section",
    "section_of",
    "section_types",
]

Mode = Literal["development", "production"]
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
S = TypeVar("S")

_SECTIONS: dict[str, type[Any]] = {}
_NAMES: dict[type[Any], str] = {}


def register_section(name: str, cls: type[Any]) -> None:
    """Declare a plugin's settings section: ``[name]`` in the TOML file, ``AUTHKEEPER_NAME__KEY``
    in the environment, ``Settings(name=cls(...))`` and ``settings.name`` in code. ``cls`` is a
    keyword-only dataclass whose every field has a default; an optional ``problems(self) ->
    list[str]`` method names what is wrong in it (each line is prefixed with ``name.``)."""
    known = _SECTIONS.get(name)
    if known is not None and known is not cls:
        raise ValueError(f"settings section {name!r} is declared twice ({known.__name__}, {cls.__name__})")
    if name in _FIELD_NAMES:
        raise ValueError(f"settings section {name!r} would hide a core setting")
    _SECTIONS[name] = cls
    _NAMES[cls] = name


def section_types() -> Mapping[str, type[Any]]:
    """The declared plugin sections, by name."""
    return dict(_SECTIONS)


_DEFAULTS: dict[type[Any], Any] = {}


def default_section(cls: type[S]) -> S:
    """The one default instance of a section class (sections are frozen): settings that do not
    give a section share it, so it is built once and caches keyed on it keep working."""
    found = _DEFAULTS.get(cls)
    if found is None:
        found = _DEFAULTS[cls] = cls()
    return found


def section_of(settings: Settings, name: str) -> Any:
    cls = _SECTIONS.get(name)
    value = settings.sections.get(name)
    if value is not None:
        return value
    if cls is None:
        raise AttributeError(f"Settings has no setting or plugin section {name!r}")
    return default_section(cls)


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """Everything authkeeper can be told. Construct with keywords; every field has a default."""

    mode: Mode = "development"
    """development (the default, with a banner and a dev mailbox) or production."""
    secret: str = ""
    """Signs cookies and tokens; at least 32 characters in production."""
    previous_secrets: tuple[str, ...] = ()
    """Older secrets still accepted when verifying (rotation); the first secret signs."""
    base_url: str = "http://127.0.0.1:8000"
    """Public URL of the server; every link in a mail is built from it."""
    base_path: str = "/api/auth"
    """Where the auth API is mounted."""
    app_name: str = "authkeeper"
    """Shown in mails and pages."""
    trusted_origins: tuple[str, ...] = ()
    """Origins (or ``*.example.com`` patterns) trusted besides the base URL's own."""
    trusted_proxies: tuple[str, ...] = ()
    """IPs/CIDRs of proxies whose ``proxy_headers`` are believed. Empty: the socket's address."""
    proxy_headers: tuple[str, ...] = ("X-Forwarded-For",)
    """Headers naming the client, read only from a trusted proxy: the first one present is
    used, every line of it, walked from the right past trusted proxies (``X-Real-IP`` may be
    named; name only headers your proxy sets or overwrites)."""
    cleanup_interval: int = 3600
    """Seconds between removals of expired sessions and verification rows; 0 turns it off."""
    openapi: bool | None = None
    """Serve the OpenAPI 3.1 document of the API at ``{base_path}/openapi.json``; by default on in
    development and off in production (see :attr:`openapi_enabled`)."""
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    session: SessionSettings = field(default_factory=SessionSettings)
    cookies: CookieSettings = field(default_factory=CookieSettings)
    password: PasswordSettings = field(default_factory=PasswordSettings)
    email_password: EmailPasswordSettings = field(default_factory=EmailPasswordSettings)
    user: UserSettings = field(default_factory=UserSettings)
    rate_limit: RateLimitSettings = field(default_factory=RateLimitSettings)
    lockout: LockoutSettings = field(default_factory=LockoutSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    sections: Mapping[str, Any] = field(default_factory=dict)
    """The plugins' own sections (``[admin]``, ``[two_factor]``), by name: each plugin declares
    its section's class (:func:`register_section`). ``Settings(admin=AdminSettings(...))`` and
    ``settings.admin`` reach them like any other field; an absent one reads as its defaults."""

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not fields: a plugin's section.
        if name.startswith("__"):
            raise AttributeError(name)
        return section_of(self, name)

    def section(self, cls: type[S]) -> S:
        """The section of plugin settings class ``cls`` (its defaults when not given)."""
        name = _NAMES.get(cls)
        if name is None:
            raise LookupError(f"{cls.__name__} is not a registered settings section")
        value = self.sections.get(name)
        return value if isinstance(value, cls) else default_section(cls)

    audit: AuditSettings = field(default_factory=AuditSettings)
    pages: PagesSettings = field(default_factory=PagesSettings)

    @property
    def is_production(self) -> bool:
        return self.mode == "production"

    @property
    def openapi_enabled(self) -> bool:
        """Whether ``{base_path}/openapi.json`` is served: ``openapi`` when set, else only outside
        production (the document lists every endpoint, which a production server need not tell)."""
        if self.openapi is not None:
            return self.openapi
        return not self.is_production

    @property
    def base_origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}".lower()

    @property
    def secure_cookies(self) -> bool:
        if self.cookies.secure is not None:
            return self.cookies.secure
        return self.base_url.lower().startswith("https://")

    @property
    def api_url(self) -> str:
        return self.base_url.rstrip("/") + self.base_path

    def problems(self) -> list[str]:
        """What makes these settings unsafe or unusable; empty when all is well."""
        found: list[str] = []
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            found.append(f"base_url: not an http(s) URL: {self.base_url!r}")
        if self.is_production:
            if len(self.secret) < 32:
                found.append("secret: production needs AUTHKEEPER_SECRET of at least 32 characters")
            host = (parts.hostname or "").lower()
            local = host in ("localhost", "127.0.0.1", "::1")
            if parts.scheme == "http" and not local:
                found.append("base_url: production needs https (plain http only for localhost)")
            if self.mail.backend == "console":
                found.append(
                    'mail.backend: "console" writes links and codes to the log; production needs "smtp" (or "none")'
                )
        elif not self.secret:
            found.append("secret: empty")
        if not self.base_path.startswith("/") or self.base_path.endswith("/"):
            found.append("base_path: must start with / and not end with /")
        if self.password.min_length < 1 or self.password.max_length < self.password.min_length:
            found.append("password: min_length/max_length out of order")
        lifetime = self.session.absolute_lifetime
        if lifetime < 0 or 0 < lifetime < self.session.expires_in:
            found.append("session.absolute_lifetime: must be 0 (no cap) or at least session.expires_in")
        for item in filter(str.strip, self.trusted_proxies):
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                found.append(f"trusted_proxies: not an IP address or network: {item!r}")
        for name in self.proxy_headers:
            if not _HEADER_NAME.match(name):
                found.append(f"proxy_headers: not a header name: {name!r}")
        if self.rate_limit.memory_max_keys < 1:
            found.append("rate_limit.memory_max_keys: must be at least 1")
        found.extend(self._range_problems())
        return found

    def _range_problems(self) -> list[str]:
        """Durations and counts outside the values that make sense, one line each."""
        s = self.session
        positive_seconds = {
            "session.expires_in": s.expires_in,
            "session.dont_remember_expires_in": s.dont_remember_expires_in,
            "session.cookie_cache_max_age": s.cookie_cache_max_age,
            "email_password.reset_token_expires_in": self.email_password.reset_token_expires_in,
            "email_password.verification_expires_in": self.email_password.verification_expires_in,
            "user.delete_token_expires_in": self.user.delete_token_expires_in,
            "rate_limit.window": self.rate_limit.window,
            "lockout.window": self.lockout.window,
            "mail.smtp_timeout": self.mail.smtp_timeout,
        }
        zero_or_more = {
            "session.update_age": s.update_age,
            "session.fresh_age": s.fresh_age,
            "cleanup_interval": self.cleanup_interval,
            "database.busy_timeout_ms": self.database.busy_timeout_ms,
            "password.hash_workers": self.password.hash_workers,
        }
        at_least_one = {
            "rate_limit.max": self.rate_limit.max,
            "lockout.max_failures": self.lockout.max_failures,
            "database.pool_size": self.database.pool_size,
            "user.max_name_length": self.user.max_name_length,
            "password.argon2_time_cost": self.password.argon2_time_cost,
            "password.argon2_parallelism": self.password.argon2_parallelism,
        }
        for path, rule in self.rate_limit.rules.items():
            positive_seconds[f"rate_limit.rules.{path}.window"] = rule.window
            at_least_one[f"rate_limit.rules.{path}.max"] = rule.max
        found = [
            f"{key}: must be a positive number of seconds, not {value}"
            for key, value in positive_seconds.items()
            if value <= 0
        ]
        found += [f"{key}: must be 0 or more, not {value}" for key, value in zero_or_more.items() if value < 0]
        found += [f"{key}: must be at least 1, not {value}" for key, value in at_least_one.items() if value < 1]
        for name, cls in _SECTIONS.items():
            check = getattr(cls, "problems", None)
            if check is not None:
                found += [f"{name}.{line}" for line in check(section_of(self, name))]
        if not 1 <= self.mail.smtp_port <= 65535:
            found.append(f"mail.smtp_port: must be between 1 and 65535, not {self.mail.smtp_port}")
        if self.password.argon2_memory_kib < 8 * self.password.argon2_parallelism:
            found.append("password.argon2_memory_kib: must be at least 8 KiB per lane (argon2_parallelism)")
        return found


_FIELD_NAMES = frozenset(f for f in Settings.__dataclass_fields__)
_generated_init = Settings.__init__


def _init(self: Settings, **kwargs: Any) -> None:
    """The dataclass's own ``__init__``, with plugin sections accepted as keywords
    (``Settings(admin=AdminSettings(...))``); ``dataclasses.replace`` goes through it too."""
    extra = {k: kwargs.pop(k) for k in [k for k in kwargs if k not in _FIELD_NAMES]}
    if extra:
        unknown = [k for k in extra if k not in _SECTIONS]
        if unknown:
            raise TypeError(f"Settings got an unexpected keyword argument {unknown[0]!r}")
        kwargs["sections"] = {**kwargs.get("sections", {}), **extra}
    _generated_init(self, **kwargs)


Settings.__init__ = _init  # type: ignore[method-assign]
