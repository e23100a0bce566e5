"""The one origin and CSRF check of the JSON API, the pages and the integrations: the
request's origin, the trusted-origin check, the login CSRF rule, the refusal log; and the
security headers of every response.

Who applies the check, and when, is each layer's: the API checks every POST that carries a
cookie (unless a header credential authenticated it), the pages every POST (beside their CSRF
token), the integrations every unsafe request whose credential came in a cookie
(:meth:`authkeeper.web.credentials.CredentialResolver.authenticate`). The rule is this one.
"""

from __future__ import annotations

import logging
import threading
import weakref

from starlette.datastructures import Headers

from ..core import errors
from ..core.context import AuthContext
from ..core.redirects import OriginPolicy, origin_of

log = logging.getLogger("authkeeper.http")
"""The refusal log keeps the logger name it always had (``authkeeper.http``)."""


def request_origin(ctx: AuthContext, headers: Headers) -> str | None:
    """Where the request comes from: its Origin; ``null`` counts only as a same-origin fetch
    says so (the base URL's origin); the Referer only when there is no Origin at all."""
    origin = headers.get("origin")
    if origin and origin != "null":
        return origin
    if origin == "null" and headers.get("sec-fetch-site") == "same-origin":
        return ctx.settings.base_origin
    referer = headers.get("referer")
    if referer and origin is None:
        return origin_of(referer)
    return None


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
                    log.warning(
                        "more origin refusals: %d pairs of origins logged, further ones are not", self.max_pairs
                    )
                return
            self._seen.add(pair)
        log.warning(
            "refused a request from origin %r: expected %r (the base URL's origin) or a trusted origin; "
            "set base_url (AUTHKEEPER_BASE_URL) or trusted_origins if that origin is yours",
            pair[0],
            expected,
        )


_REFUSALS: weakref.WeakKeyDictionary[OriginPolicy, OriginRefusals] = weakref.WeakKeyDictionary()
"""One refusal log per app (per origin policy), shared by the API, the pages and the integrations."""


def _refused(ctx: AuthContext, origin: str) -> None:
    refusals = _REFUSALS.get(ctx.origins)
    if refusals is None:
        refusals = _REFUSALS.setdefault(ctx.origins, OriginRefusals())
    refusals.note(origin, ctx.settings.base_origin)


def check_origin(ctx: AuthContext, headers: Headers) -> None:
    """An unsafe request that carries cookies must come from a trusted origin (CSRF):
    MISSING_OR_NULL_ORIGIN without one, INVALID_ORIGIN (logged) from another."""
    origin = request_origin(ctx, headers)
    if origin is None:
        raise errors.AuthError(errors.MISSING_OR_NULL_ORIGIN)
    if not ctx.origins.is_trusted_origin(origin):
        _refused(ctx, origin)
        raise errors.AuthError(errors.INVALID_ORIGIN)


def check_login_csrf(ctx: AuthContext, headers: Headers) -> None:
    """Cookie-less sign-in/sign-up: block cross-site form navigations (login CSRF)."""
    site = headers.get("sec-fetch-site")
    if site is not None or headers.get("sec-fetch-mode") is not None:
        if site == "cross-site" and headers.get("sec-fetch-mode") == "navigate":
            raise errors.AuthError(errors.CROSS_SITE_NAVIGATION_LOGIN_BLOCKED)
        if site in ("same-origin", "none"):
            return
        check_origin(ctx, headers)
        return
    if headers.get("origin") or headers.get("referer"):
        check_origin(ctx, headers)


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
