"""Introspection: asking the auth server's ``get-session`` about a caller's session, for the
routes that must see a sign-out or a revocation at once (a JWT stays valid until it expires).

The credential is the caller's ``Authorization: Bearer <session token>`` when it sends one
(then no cookie is forwarded: the bearer is the credential, nothing else), else its cookies.
Only the auth server's own cookies are forwarded (those named ``<prefix>.…``, with or without
``__Secure-``/``__Host-``): the caller's other cookies belong to this service, not to it.

The request asks Better Auth to bypass its cookie cache (``disableCookieCache=true``; authkeeper
never reads that cache anyway), so the answer reflects the session store, and not to refresh
the session (``disableRefresh=true``): a refresh would slide the session's expiry and answer
with a new ``Set-Cookie`` that only the verifier sees, so the browser's cookie would expire on
its old date while the session lived on. The session's expiry slides when the user talks to
the auth server itself. Nothing is cached.

Forwarding a cookie is forwarding the browser's ambient credential: get-session is a GET, so
the auth server checks no Origin on it, and the service must (:func:`check_origin`) before it
introspects an unsafe request by cookie, or a cross-site form could act as the user.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from typing import Any, Final

from . import errors
from .errors import VerifierError
from .principal import SessionInfo, parse_roles
from .transport import Transport, Unavailable, loggable, origin_of

log = logging.getLogger("authkeeper.verifier")

MAX_HEADER_LENGTH = 8192

SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that change nothing, so need no Origin check (a route that does change something on
a GET is a bug of its own)."""

QUERY: Final = {"disableCookieCache": "true", "disableRefresh": "true"}
"""What every get-session request asks: the session store's answer, and no refresh."""


def _clean(value: str | None) -> str | None:
    """A header value safe to forward: bounded, printable ASCII (no line break to split a
    header with; cookies and tokens are ASCII, and the client would refuse anything else)."""
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > MAX_HEADER_LENGTH or not (value.isascii() and value.isprintable()):
        return None
    return value


def auth_cookies(header: str | None, prefix: str | None) -> str | None:
    """The auth server's cookies out of a ``Cookie`` header (all of them when ``prefix`` is None)."""
    header = _clean(header)
    if header is None or prefix is None:
        return header
    kept = []
    for pair in header.split(";"):
        name = pair.split("=", 1)[0].strip()
        for secure in ("__Secure-", "__Host-"):
            name = name.removeprefix(secure)
        if name.startswith(prefix + "."):
            kept.append(pair.strip())
    return "; ".join(kept) or None


def bearer_token(header: str | None) -> str | None:
    """``Bearer <token>`` → the token; any other scheme or shape → None."""
    header = _clean(header)
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def request_origin(origin: str | None, referer: str | None) -> str | None:
    """Where a request comes from: its ``Origin``, else (only when there is no ``Origin`` at
    all) its ``Referer``'s origin, normalised as :func:`~.transport.origin_of` does; ``None``
    when neither says (``Origin: null`` included: an opaque origin is no origin)."""
    claimed = origin if origin is not None else referer
    claimed = _clean(claimed)
    if claimed is None or claimed == "null":
        return None
    try:
        return origin_of(claimed)
    except ValueError:  # not an http(s) URL, or a malformed port
        return None


def check_origin(
    method: str,
    *,
    origin: str | None,
    referer: str | None,
    cookie: str | None,
    authorization: str | None,
    cookie_prefix: str | None,
    trusted: Collection[str],
) -> None:
    """CSRF: an unsafe request (not GET/HEAD/OPTIONS) whose credential would be a forwarded
    cookie (it sends an auth server's cookie and no bearer token) must come from one of
    ``trusted``; else 403 ``INVALID_ORIGIN``. A bearer needs no Origin: a page cannot attach
    one to a cross-site request without a preflight, and then only the bearer is forwarded."""
    if method.upper() in SAFE_METHODS or bearer_token(authorization) is not None:
        return
    if auth_cookies(cookie, cookie_prefix) is None:
        return  # nothing would be forwarded: introspection answers MISSING_TOKEN
    found = request_origin(origin, referer)
    if found is None or found not in trusted:
        raise VerifierError(errors.INVALID_ORIGIN)


async def introspect(
    transport: Transport,
    url: str,
    *,
    cookie: str | None,
    authorization: str | None,
    cookie_prefix: str | None,
    default_role: str | None,
) -> SessionInfo:
    """The live session of whoever sent ``authorization`` (a bearer session token) or else
    ``cookie``: 401 ``MISSING_TOKEN`` with neither, 401 ``INVALID_SESSION`` when the auth server
    knows no such session, 503 ``AUTH_SERVER_UNAVAILABLE`` when it cannot answer. No Origin is
    checked here: see :func:`check_origin`."""
    headers = {"Accept": "application/json"}
    token = bearer_token(authorization)
    forwarded = None if token else auth_cookies(cookie, cookie_prefix)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    elif forwarded:
        headers["Cookie"] = forwarded
    else:
        raise VerifierError(errors.MISSING_TOKEN)
    try:
        answer = await transport.get(url, headers, params=QUERY)
    except Unavailable as exc:
        log.warning("cannot reach get-session %s (%s)", loggable(url), exc)
        raise VerifierError(errors.AUTH_SERVER_UNAVAILABLE) from None
    if answer.status in (401, 403):
        raise VerifierError(errors.INVALID_SESSION)
    if answer.status != 200:
        # A 404 is a misconfigured URL, a 429 the auth server's rate limit: not the caller's fault.
        log.warning("get-session %s answered HTTP %d", loggable(url), answer.status)
        raise VerifierError(errors.AUTH_SERVER_UNAVAILABLE)
    try:
        body: Any = json.loads(answer.body)
    except Exception:  # noqa: BLE001  # not JSON (or nested past the recursion limit)
        body = ...
    if body is None:
        raise VerifierError(errors.INVALID_SESSION)
    session = body.get("session") if isinstance(body, dict) else None
    user = body.get("user") if isinstance(body, dict) else None
    if not isinstance(session, dict) or not isinstance(user, dict) or not isinstance(user.get("id"), str):
        log.warning("get-session %s answered something that is not a session", loggable(url))
        raise VerifierError(errors.AUTH_SERVER_UNAVAILABLE)
    return SessionInfo(session, user, parse_roles(user.get("role"), default_role))
