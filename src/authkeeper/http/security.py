"""The JSON API's own request rules: callback URL validation and CORS. The origin and CSRF
check it shares with the pages and the integrations is :mod:`authkeeper.web.security`."""

from __future__ import annotations

from typing import Any

from ..core import errors
from ..core.redirects import OriginPolicy
from ..web.call import Call

_CALLBACK_FIELDS = {
    "callbackURL": errors.INVALID_CALLBACK_URL,
    "redirectTo": errors.INVALID_REDIRECT_URL,
    "errorCallbackURL": errors.INVALID_ERROR_CALLBACK_URL,
    "newUserCallbackURL": errors.INVALID_NEW_USER_CALLBACK_URL,
}


def check_callbacks(call: Call, policy: OriginPolicy) -> None:
    """Every redirect-like value, in the body or the query, must be safe (no open redirect)."""
    sources: list[dict[str, Any]] = [call.raw] if call.raw else []
    if call.request.scope.get("query_string"):  # most requests have none: no parsing then
        sources.append(dict(call.request.query_params))
    for source in sources:
        for name, error in _CALLBACK_FIELDS.items():
            if name not in source or source[name] is None:
                continue
            value = source[name]
            if not isinstance(value, str):
                raise errors.AuthError(errors.VALIDATION_ERROR, f"Invalid {name}: expected a string")
            if value and not policy.is_safe_redirect(value):
                raise errors.AuthError(error)


def cors_headers(
    origin: str, *, preflight: bool, allow_headers: bytes = b"content-type, authorization"
) -> list[tuple[bytes, bytes]]:
    """CORS for a trusted origin; a preflight allows the request headers the credential
    transports read (``authorization``, and a plugin's, e.g. ``x-api-key``)."""
    headers = [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-credentials", b"true"),
        (b"vary", b"Origin"),
    ]
    if preflight:
        headers += [
            (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
            (b"access-control-allow-headers", allow_headers),
            (b"access-control-max-age", b"600"),
        ]
    return headers
