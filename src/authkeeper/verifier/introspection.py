"""Introspection: asking the auth server's ``get-session`` about a caller's session, for the
routes that must see a sign-out or a revocation at once (a JWT stays valid until it expires).

Only the auth server's own cookies are forwarded (those named ``<prefix>.…``, with or without
``__Secure-``/``__Host-``): the caller's other cookies belong to this service, not to it. The
request asks Better Auth to bypass its cookie cache (``disableCookieCache=true``; authkeeper
never reads that cache anyway), so the answer reflects the session store. Nothing is cached.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from . import errors
from .errors import VerifierError
from .principal import SessionInfo, parse_roles
from .transport import Transport, Unavailable, loggable

log = logging.getLogger("authkeeper.verifier")

MAX_HEADER_LENGTH = 8192


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


async def introspect(
    transport: Transport,
    url: str,
    *,
    cookie: str | None,
    authorization: str | None,
    cookie_prefix: str | None,
    default_role: str | None,
) -> SessionInfo:
    """The live session of whoever sent ``cookie`` / ``authorization``: 401 ``MISSING_TOKEN``
    with neither, 401 ``INVALID_SESSION`` when the auth server knows no such session, 503
    ``AUTH_SERVER_UNAVAILABLE`` when it cannot answer."""
    headers = {"Accept": "application/json"}
    forwarded = auth_cookies(cookie, cookie_prefix)
    token = bearer_token(authorization)
    if forwarded:
        headers["Cookie"] = forwarded
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if not forwarded and not token:
        raise VerifierError(errors.MISSING_TOKEN)
    try:
        answer = await transport.get(url, headers, params={"disableCookieCache": "true"})
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
