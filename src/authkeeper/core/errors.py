"""Domain errors with stable codes.

Flows raise :class:`AuthError`; the HTTP layer renders ``{"code", "message"}`` with
``status`` in one place (``authkeeper.http.errors``) and the pages render the same
code as a form error. Codes are part of the public contract: never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """A stable error code, its HTTP status and its default message."""

    code: str
    status: int
    message: str


class AuthError(Exception):
    """The root of every error a flow raises on purpose. It says what went wrong, never how the
    wire spells it: the web layers render it (the JSON API as Better Auth's ``{code, message}``
    with ``[body.field]`` before the detail, the pages as a form error on ``field``).

    Args:
        error: the stable code (its status is declared with it).
        detail: what exactly is wrong, when the code's message is not enough (never a secret).
        field: the input it is about (``name``, ``data.email``; ``""`` for the input as a whole).
        source: where that input came from: ``body`` or ``query``.
        retry_after: seconds before trying again helps (rendered as ``Retry-After``).
        data: extra facts for the client (``{"retryAfter": 30}``), rendered beside the message.
        status: an explicit override by the web layer that raises it (an endpoint whose
            answer differs from the code's, as Better Auth's does); flows never set it.
    """

    def __init__(
        self,
        error: ErrorCode,
        detail: str | None = None,
        *,
        field: str | None = None,
        source: Literal["body", "query"] = "body",
        retry_after: int | None = None,
        data: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        self.error = error
        self.code = error.code
        self.status = status or error.status
        self.detail = detail
        self.field = field
        self.source = source
        self.retry_after = retry_after
        self.data = data or {}
        super().__init__(f"{self.code}: {self.message}")

    @property
    def message(self) -> str:
        """The words, without where they point: the detail, or the code's message."""
        return self.detail if self.detail is not None else self.error.message

    def with_status(self, status: int) -> AuthError:
        """The same error, answered with another status (a web layer's explicit override)."""
        return AuthError(
            self.error,
            self.detail,
            field=self.field,
            source=self.source,
            retry_after=self.retry_after,
            data=self.data,
            status=status,
        )


REGISTRY: dict[str, ErrorCode] = {}


def define(code: str, status: int, message: str) -> ErrorCode:
    """Register a code; a code is defined once, by the module that owns it."""
    if code in REGISTRY and REGISTRY[code] != ErrorCode(code, status, message):
        raise ValueError(f"error code {code} defined twice")
    REGISTRY[code] = ErrorCode(code, status, message)
    return REGISTRY[code]


# Transport and input (Better Auth's envelope, spec §1.5).
BAD_REQUEST = define("BAD_REQUEST", 400, "Invalid JSON in request body")
VALIDATION_ERROR = define("VALIDATION_ERROR", 400, "Invalid input")
UNSUPPORTED_MEDIA_TYPE = define("UNSUPPORTED_MEDIA_TYPE", 415, "Unsupported content type")
PAYLOAD_TOO_LARGE = define("PAYLOAD_TOO_LARGE", 413, "Request body is too large")
FIELD_NOT_ALLOWED = define("FIELD_NOT_ALLOWED", 400, "Field is not allowed to be set")
MISSING_FIELD = define("MISSING_FIELD", 400, "Field is required")
BODY_MUST_BE_AN_OBJECT = define("BODY_MUST_BE_AN_OBJECT", 400, "Body must be an object")
NOT_FOUND = define("NOT_FOUND", 404, "Not found")
METHOD_NOT_ALLOWED = define("METHOD_NOT_ALLOWED", 404, "Not found")
NO_FIELDS_TO_UPDATE = define("NO_FIELDS_TO_UPDATE", 400, "No fields to update")
INTERNAL_SERVER_ERROR = define("INTERNAL_SERVER_ERROR", 500, "Internal server error")
SERVICE_UNAVAILABLE = define("SERVICE_UNAVAILABLE", 503, "Service temporarily unavailable, try again")

# Sessions and origin.
UNAUTHORIZED = define("UNAUTHORIZED", 401, "Unauthorized")
SESSION_NOT_FRESH = define("SESSION_NOT_FRESH", 403, "Session is not fresh")
SESSION_EXPIRED = define("SESSION_EXPIRED", 400, "Session expired. Re-authenticate to perform this action.")
FAILED_TO_CREATE_SESSION = define("FAILED_TO_CREATE_SESSION", 400, "Failed to create session")
MISSING_OR_NULL_ORIGIN = define("MISSING_OR_NULL_ORIGIN", 403, "Missing or null Origin")
INVALID_ORIGIN = define("INVALID_ORIGIN", 403, "Invalid origin")
CROSS_SITE_NAVIGATION_LOGIN_BLOCKED = define(
    "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED", 403, "Cross-site navigation login blocked"
)
INVALID_CALLBACK_URL = define("INVALID_CALLBACK_URL", 403, "Invalid callbackURL")
INVALID_REDIRECT_URL = define("INVALID_REDIRECT_URL", 403, "Invalid redirectURL")
INVALID_ERROR_CALLBACK_URL = define("INVALID_ERROR_CALLBACK_URL", 403, "Invalid errorCallbackURL")
INVALID_NEW_USER_CALLBACK_URL = define("INVALID_NEW_USER_CALLBACK_URL", 403, "Invalid newUserCallbackURL")
TOO_MANY_REQUESTS = define("TOO_MANY_REQUESTS", 429, "Too many requests. Please try again later.")
ACCOUNT_LOCKED = define("ACCOUNT_LOCKED", 429, "Too many failed sign-in attempts. Please try again later.")

# Users and credentials.
USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL = define(
    "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", 422, "User already exists. Use another email."
)
FAILED_TO_CREATE_USER = define("FAILED_TO_CREATE_USER", 422, "Failed to create user")
EMAIL_PASSWORD_SIGN_UP_DISABLED = define(
    "EMAIL_PASSWORD_SIGN_UP_DISABLED", 400, "Email and password sign up is not enabled"
)
EMAIL_PASSWORD_DISABLED = define("EMAIL_PASSWORD_DISABLED", 400, "Email and password is not enabled")
INVALID_EMAIL = define("INVALID_EMAIL", 400, "Invalid email")
INVALID_EMAIL_OR_PASSWORD = define("INVALID_EMAIL_OR_PASSWORD", 401, "Invalid email or password")
EMAIL_NOT_VERIFIED = define("EMAIL_NOT_VERIFIED", 403, "Email not verified")
PASSWORD_TOO_SHORT = define("PASSWORD_TOO_SHORT", 400, "Password too short")
PASSWORD_TOO_LONG = define("PASSWORD_TOO_LONG", 400, "Password too long")
PASSWORD_TOO_COMMON = define("PASSWORD_TOO_COMMON", 400, "This password is too common. Choose a less guessable one.")
PASSWORD_SAME_AS_EMAIL = define("PASSWORD_SAME_AS_EMAIL", 400, "The password must not be your email address")
PASSWORD_TOO_SIMILAR = define(
    "PASSWORD_TOO_SIMILAR", 400, "Password is too similar to your email, name or the app name"
)
INVALID_PASSWORD = define("INVALID_PASSWORD", 400, "Invalid password")
CREDENTIAL_ACCOUNT_NOT_FOUND = define("CREDENTIAL_ACCOUNT_NOT_FOUND", 400, "Credential account not found")
USER_NOT_FOUND = define("USER_NOT_FOUND", 400, "User not found")
EMAIL_CAN_NOT_BE_UPDATED = define("EMAIL_CAN_NOT_BE_UPDATED", 400, "Email can not be updated")
CHANGE_EMAIL_DISABLED = define("CHANGE_EMAIL_DISABLED", 400, "Change email is disabled")
EMAIL_IS_THE_SAME = define("EMAIL_IS_THE_SAME", 400, "Email is the same")
INVALID_TOKEN = define("INVALID_TOKEN", 400, "Invalid token")
TOKEN_EXPIRED = define("TOKEN_EXPIRED", 401, "Token expired")
VERIFICATION_EMAIL_NOT_ENABLED = define("VERIFICATION_EMAIL_NOT_ENABLED", 400, "Verification email isn't enabled")
EMAIL_MISMATCH = define("EMAIL_MISMATCH", 400, "Email mismatch")
EMAIL_ALREADY_VERIFIED = define("EMAIL_ALREADY_VERIFIED", 400, "Email is already verified")
RESET_PASSWORD_DISABLED = define("RESET_PASSWORD_DISABLED", 400, "Reset password isn't enabled")
ACCOUNT_NOT_FOUND = define("ACCOUNT_NOT_FOUND", 400, "Account not found")
FAILED_TO_UNLINK_LAST_ACCOUNT = define("FAILED_TO_UNLINK_LAST_ACCOUNT", 400, "You can't unlink your last account")
PROVIDER_NOT_FOUND = define("PROVIDER_NOT_FOUND", 404, "Provider not found")
PROVIDER_NOT_SUPPORTED = define("PROVIDER_NOT_SUPPORTED", 400, "Provider is not supported")
"""get-access-token and refresh-token on an account of no configured provider (the message
names the provider, as Better Auth's does)."""
PROVIDER_NOT_CONFIGURED = define(
    "PROVIDER_NOT_CONFIGURED", 400, "Account is not associated with a configured social provider."
)
FAILED_TO_GET_USER_INFO = define("FAILED_TO_GET_USER_INFO", 404, "Failed to get user info")
FORBIDDEN = define("FORBIDDEN", 403, "You are not allowed to do this")
NOT_ALLOWED_WHILE_IMPERSONATING = define(
    "NOT_ALLOWED_WHILE_IMPERSONATING", 403, "This action is not allowed while impersonating a user"
)
METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED = define(
    "METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED",
    405,
    "POST method requires deferSessionRefresh to be enabled in session config",
)


def all_codes() -> dict[str, ErrorCode]:
    """Every registered code, for clients and pages that translate them."""
    return dict(REGISTRY)
