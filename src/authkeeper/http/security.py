"""Origin checks, login CSRF, callback URL validation, CORS and security headers."""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any

from ..core import errors
from ..core.redirects import OriginPolicy, origin_of
from .call import Call

_CALLBACK_FIELDS = {
    "callbackURL": errors.INVALID_CALLBACK_URL,
    "redirectTo": errors.INVALID_REDIRECT_URL,
    "errorCallbackURL": errors.INVALID_ERROR_CALLBACK_URL,
    "newUserCallbackURL": errors.INVALID_NEW_USER_CALLBACK_URL,
}


def request_origin(call: Call) -> str | None:
    headers = call.request.headers
    origin = headers.get("origin")
    if origin and origin != "null":
        return origin
    if origin == "null" and headers.get("sec-fetch-site") == "same-origin":
        return call.ctx.settings.base_origin
    referer = headers.get("referer")
    if referer and origin is None:
        return origin_of(referer)
    return None


log = logging.getLogger("authkeeper.http")


class OriginRefusals:
    """Logs an origin refusal once per pair of origins (the request's, the expected one), so a
    misconfigured base URL shows in the log without flooding it. At most ``max_pairs`` pairs are
    remembered; past that, one line says that further refusals go unlogged."""

    def __init__(self, max_pairs: int = 1000) -> None:
        self.max_pairs = max_pairs
        self._seen: set[tuple[str, str]] = set()
        self._full_logged = False
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def note(self, origin: str, expected: str) -> None:
        pair = (origin[:200], expected)
        with self._lock:
            if pair in self._seen:
                return
            if len(self._seen) >= self.max_pairs:
                if not self._full_logged:
                    self._full_logged = True
                    log.warning("more origin refusals: %d pairs of origins logged, further ones are not", self.max_pairs)
                return
            self._seen.add(pair)
        log.warning(
            "refused a request from origin %r: expected %r (the base URL's origin) or a trusted origin; "
            "set base_url (AUTHKEEPER_BASE_URL) or trusted_origins if that origin is yours", pair[0], expected,
        )


_REFUSALS: weakref.WeakKeyDictionary[OriginPolicy, OriginRefusals] = weakref.WeakKeyDictionary()
"""One refusal log per app (per origin policy), shared by the API, the pages and the integrations."""


def _refused(call: Call, origin: str) -> None:
    refusals = _REFUSALS.get(call.ctx.origins)
    if refusals is None:
        refusals = _REFUSALS.setdefault(call.ctx.origins, OriginRefusals())
    refusals.note(origin, call.ctx.settings.base_origin)


def check_origin(call: Call, policy: OriginPolicy) -> None:
    """Unsafe requests that carry cookies must come from a trusted origin (CSRF)."""
    origin = request_origin(call)
    if origin is None:
        raise errors.AuthError(errors.MISSING_OR_NULL_ORIGIN)
    if not policy.is_trusted_origin(origin):
        _refused(call, origin)
        raise errors.AuthError(errors.INVALID_ORIGIN)


def check_login_csrf(call: Call, policy: OriginPolicy) -> None:
    """Cookie-less sign-in/sign-up: block cross-site form navigations (login CSRF)."""
    headers = call.request.headers
    site = headers.get("sec-fetch-site")
    if site is not None or headers.get("sec-fetch-mode") is not None:
        if site == "cross-site" and headers.get("sec-fetch-mode") == "navigate":
            raise errors.AuthError(errors.CROSS_SITE_NAVIGATION_LOGIN_BLOCKED)
        if site in ("same-origin", "none"):
            return
        check_origin(call, policy)
        return
    if headers.get("origin") or headers.get("referer"):
        check_origin(call, policy)


def check_callbacks(call: Call, policy: OriginPolicy) -> None:
    """Every redirect-like value, in the body or the query, must be safe (no open redirect)."""
    sources: list[dict[str, Any]] = [call.raw, dict(call.request.query_params)]
    for source in sources:
        for name, error in _CALLBACK_FIELDS.items():
            if name not in source or source[name] is None:
                continue
            value = source[name]
            if not isinstance(value, str):
                raise errors.AuthError(errors.VALIDATION_ERROR, f"Invalid {name}: expected a string")
            if value and not policy.is_safe_redirect(value):
                raise errors.AuthError(error)


def security_headers(https: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    ]
    if https:
        headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return headers


def cors_headers(origin: str, *, preflight: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-credentials", b"true"),
        (b"vary", b"Origin"),
    ]
    if preflight:
        headers += [
            (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
            (b"access-control-allow-headers", b"content-type, authorization"),
            (b"access-control-max-age", b"600"),
        ]
    return headers
