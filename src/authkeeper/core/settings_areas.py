"""The areas of the core's settings, one class each (``Settings`` groups them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FieldType = Literal["string", "number", "boolean", "date"]


@dataclass(frozen=True, kw_only=True, slots=True)
class DatabaseSettings:
    """Where users and sessions live."""

    url: str = "sqlite:///authkeeper.db"
    """SQLAlchemy-style URL: ``sqlite:///file.db`` or ``postgresql://user@host/db``."""
    auto_migrate: bool = True
    """Apply missing migrations when the server starts."""
    pool_size: int = 10
    """Connections kept open to PostgreSQL."""
    busy_timeout_ms: int = 5000
    """SQLite: how long a writer waits for the lock before giving up."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionSettings:
    """Database sessions carried in a signed cookie (or a bearer token)."""

    expires_in: int = 604800
    """Session lifetime in seconds (7 days)."""
    update_age: int = 86400
    """Slide the expiry at most once per this many seconds (1 day)."""
    absolute_lifetime: int = 2_592_000
    """No session lives past its creation plus this many seconds (30 days), however often it
    is used: the sliding refresh stops there, and then the user signs in again (OWASP ASVS 5
    §7.3). At least ``expires_in``; 0 lets a session slide forever (Better Auth's behaviour)."""
    fresh_age: int = 86400
    """A session younger than this may do sensitive things without re-authenticating; 0 turns it off."""
    dont_remember_expires_in: int = 86400
    """Lifetime of a session signed in with ``rememberMe: false``."""
    cookie_cache_enabled: bool = False
    """Better Auth's ``session_data`` cookie cache. Off by default; never used for permission checks."""
    cookie_cache_max_age: int = 300
    """Lifetime of the cookie cache in seconds."""


@dataclass(frozen=True, kw_only=True, slots=True)
class CookieSettings:
    """Cookie names and attributes."""

    prefix: str = "better-auth"
    """Cookie name prefix; ``better-auth`` keeps the official client's defaults."""
    secure: bool | None = None
    """Force Secure cookies; ``None`` means: secure when the base URL is https or in production."""
    domain: str | None = None
    """Set a Domain attribute (for sharing cookies across subdomains)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PasswordSettings:
    """Password rules and hashing."""

    min_length: int = 8
    """Shortest accepted password (NIST 800-63B §3.1.1.2: at least 8)."""
    max_length: int = 128
    """Longest accepted password; also caps the work done before hashing."""
    reject_common: bool = True
    """Refuse passwords of a shipped breached-password corpus (414,573 entries) and the
    guessable shapes around them (``PASSWORD_TOO_COMMON``), and passwords made mostly of the
    email's local part, the user's name or the app name (``PASSWORD_TOO_SIMILAR``)."""
    reject_email: bool = True
    """Refuse a password equal to the account's email address."""
    rehash_legacy: bool = True
    """Rehash Better Auth scrypt hashes to argon2id on a successful sign-in. Turn off while
    Better Auth and authkeeper share one database."""
    argon2_memory_kib: int = 19456
    """argon2id memory cost (OWASP Password Storage Cheat Sheet minimum)."""
    argon2_time_cost: int = 2
    """argon2id iterations."""
    argon2_parallelism: int = 1
    """argon2id lanes."""
    hash_workers: int = 0
    """Threads hashing passwords; 0 means one per core. Bounds memory: workers × memory cost."""


@dataclass(frozen=True, kw_only=True, slots=True)
class EmailPasswordSettings:
    """Email and password sign-up and sign-in."""

    enabled: bool = True
    """Turn email and password authentication on."""
    disable_sign_up: bool = False
    """Refuse public sign-up; only admins (the CLI, the admin API) create users."""
    require_email_verification: bool = False
    """Refuse sign-in until the email address is verified."""
    auto_sign_in: bool = True
    """Sign the user in right after sign-up."""
    send_verification_on_sign_up: bool = True
    """Mail a verification link on sign-up."""
    send_verification_on_sign_in: bool = False
    """Mail a new verification link when an unverified user is refused sign-in."""
    auto_sign_in_after_verification: bool = False
    """Create a session when a verification link is followed."""
    reset_token_expires_in: int = 3600
    """Lifetime of a password-reset link in seconds."""
    verification_expires_in: int = 3600
    """Lifetime of an email-verification link in seconds."""


@dataclass(frozen=True, kw_only=True, slots=True)
class AdditionalField:
    """An extra column on the user table, like Better Auth's ``additionalFields``."""

    name: str
    """Column and JSON name (camelCase by convention, e.g. ``preferredCurrency``)."""
    type: FieldType = "string"
    """One of string, number, boolean, date."""
    required: bool = False
    """Must be given on sign-up (unless it has a default)."""
    default: str | int | float | bool | None = None
    """Value used when none is given."""
    input: bool = True
    """Whether a client may set it (sign-up, update-user); otherwise FIELD_NOT_ALLOWED."""
    max_length: int = 255
    """Longest accepted string value."""
    returned: bool = True
    """Whether it appears in the user object."""


@dataclass(frozen=True, kw_only=True, slots=True)
class UserSettings:
    """The user model and self-service account changes."""

    additional_fields: tuple[AdditionalField, ...] = ()
    """Extra user columns (added by the migrations)."""
    change_email_enabled: bool = True
    """Allow change-email (confirmed by the new address)."""
    notify_old_email_on_change: bool = True
    """Tell the old address when the email changes."""
    delete_user_enabled: bool = True
    """Allow users to delete their own account."""
    delete_confirm_by_email: bool = False
    """Confirm account deletion through a mailed link instead of at once."""
    delete_token_expires_in: int = 86400
    """Lifetime of a delete-account link in seconds."""
    max_name_length: int = 255
    """Longest accepted name."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RateLimitRule:
    """At most ``max`` requests per ``window`` seconds per client IP."""

    window: int
    max: int


def _default_rules() -> dict[str, RateLimitRule]:
    # Better Auth's defaults (spec §6.4).
    strict = RateLimitRule(window=10, max=3)
    mail = RateLimitRule(window=60, max=3)
    return {
        "/sign-in/*": strict,
        "/sign-up/*": strict,
        "/change-password": strict,
        "/change-email": strict,
        "/request-password-reset": mail,
        "/send-verification-email": mail,
    }


@dataclass(frozen=True, kw_only=True, slots=True)
class RateLimitSettings:
    """Rate limiting per client IP and path; on by default, in every mode."""

    enabled: bool = True
    """Turn rate limiting on."""
    window: int = 10
    """Default window in seconds."""
    max: int = 100
    """Default requests per window."""
    rules: dict[str, RateLimitRule] = field(default_factory=_default_rules)
    """Per-path rules (path relative to the base path, ``*`` matches a suffix), laid over the
    built-in ones (spec §6.4): a rule here replaces the built-in rule for that path and the
    other built-in rules stay, so loosening sign-in never loosens password reset."""
    storage: Literal["memory", "redis"] = "memory"
    """Where counters live: this process's memory, or Redis (shared by several processes)."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    """Redis URL when ``storage`` is redis."""
    memory_max_keys: int = 100_000
    """Most counters (client IP × route) the memory storage holds. Expired windows go first,
    then the least recently used counters not at their limit; a counter at its limit is kept
    until its window ends. With every counter at its limit, new clients share one counter
    per rule. About 400 bytes each (100 000 ≈ 40 MiB)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", {**_default_rules(), **self.rules})


@dataclass(frozen=True, kw_only=True, slots=True)
class LockoutSettings:
    """Account lockout after repeated wrong passwords, counted per email in the database."""

    enabled: bool = True
    """Turn account lockout on."""
    max_failures: int = 5
    """Failed sign-ins within ``window`` that lock the email."""
    window: int = 900
    """Counting window and lock duration in seconds (15 minutes)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class MailSettings:
    """How mail leaves the server."""

    backend: Literal["console", "smtp", "none"] = "console"
    """console prints links (development only: production refuses it, since it would write live
    links and codes to the log); smtp sends through an SMTP server; none drops mail."""
    from_address: str = "authkeeper <no-reply@localhost>"
    """The From header."""
    smtp_host: str = "127.0.0.1"
    """SMTP server host."""
    smtp_port: int = 25
    """SMTP server port."""
    smtp_user: str | None = None
    """SMTP user name, if the server wants one."""
    smtp_password: str | None = None
    """SMTP password (never logged)."""
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    """Plain, STARTTLS after connect, or TLS from the start."""
    smtp_timeout: float = 10.0
    """Seconds before an SMTP attempt gives up."""
    outbox: bool = True
    """Development only: keep every mail for ``GET /__mailbox``."""


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditSettings:
    """The audit log of security events."""

    retention_days: int = 365
    """Events older than this are pruned (``authkeeper audit prune`` and the cleanup task)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PagesSettings:
    """The server-rendered pages (sign-in, sign-up, account, admin) served by ``authkeeper serve``."""

    enabled: bool = True
    """Serve the pages at ``/``; off leaves only the API, health checks and the dev mailbox."""
