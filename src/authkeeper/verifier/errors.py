"""The one exception the verifier raises, with stable codes.

A service answers a refused request with ``status`` and ``{"code", "message"}``, the shape the
auth server itself uses, so one client-side error handler serves both. Codes are part of the
public contract: never rename one. Messages are fixed sentences written here, never a library's
exception text: those can quote claim values, and a message must never echo the token.
"""

from __future__ import annotations

from typing import Final

MISSING_TOKEN: Final = "MISSING_TOKEN"
INVALID_TOKEN: Final = "INVALID_TOKEN"
TOKEN_EXPIRED: Final = "TOKEN_EXPIRED"
TOKEN_NOT_YET_VALID: Final = "TOKEN_NOT_YET_VALID"
INVALID_AUDIENCE: Final = "INVALID_AUDIENCE"
INVALID_ISSUER: Final = "INVALID_ISSUER"
UNKNOWN_KEY: Final = "UNKNOWN_KEY"
INVALID_SESSION: Final = "INVALID_SESSION"
FORBIDDEN: Final = "FORBIDDEN"
INVALID_ORIGIN: Final = "INVALID_ORIGIN"
JWKS_UNAVAILABLE: Final = "JWKS_UNAVAILABLE"
AUTH_SERVER_UNAVAILABLE: Final = "AUTH_SERVER_UNAVAILABLE"

DEFAULTS: Final[dict[str, tuple[int, str]]] = {
    MISSING_TOKEN: (401, "Authentication is required"),
    INVALID_TOKEN: (401, "The token is invalid"),
    TOKEN_EXPIRED: (401, "The token has expired"),
    TOKEN_NOT_YET_VALID: (401, "The token is not valid yet"),
    INVALID_AUDIENCE: (401, "The token was issued for another audience"),
    INVALID_ISSUER: (401, "The token was issued by another issuer"),
    UNKNOWN_KEY: (401, "The token was signed with an unknown key"),
    INVALID_SESSION: (401, "The session is invalid or has ended"),
    FORBIDDEN: (403, "You are not allowed to do this"),
    INVALID_ORIGIN: (403, "The request does not come from a trusted origin"),
    JWKS_UNAVAILABLE: (503, "The signing keys of the auth server cannot be fetched"),
    AUTH_SERVER_UNAVAILABLE: (503, "The auth server cannot be reached"),
}
"""Every code with its HTTP status and default message."""


class VerifierError(Exception):
    """A refused credential (401), a refused permission or origin (403) or an unreachable auth
    server (503).

    Args:
        code: one of the codes above.
        message: a fixed sentence saying more than the default (never a token, never a claim value).
    """

    def __init__(self, code: str, message: str | None = None) -> None:
        status, default = DEFAULTS[code]
        self.code = code
        self.status = status
        self.message = message or default
        super().__init__(f"{code}: {self.message}")

    def to_dict(self) -> dict[str, str]:
        """The JSON body: ``{"code": ..., "message": ...}``."""
        return {"code": self.code, "message": self.message}
