"""Verifying the auth server's JWTs in another service, one that shares no database with it.

    from authkeeper.verifier import Verifier, VerifierError

    verifier = Verifier("https://auth.example.com/api/auth/jwks", roles={"admin": {"user": ["ban"]}})
    try:
        claims = await verifier.verify(token)          # Claims: .sub, .roles, .claims
    except VerifierError as exc:                       # .status (401/403/503), .code, .message
        return JSONResponse(exc.to_dict(), status_code=exc.status)
    verifier.has_permission(claims, {"user": ["ban"]})

    session = await verifier.introspect_request(request.method, request.headers)  # sees a sign-out at once

A JWT is checked offline, so a signed-out user's token stays valid until ``exp`` (15 minutes by
default): routes that must see a revocation at once introspect instead. ``introspect_request``
forwards the caller's session bearer, or else its auth cookies, to the auth server's get-session;
by cookie, an unsafe request (POST, ...) must come from a trusted origin (the issuer's, or one of
``Verifier(..., trusted_origins=[...])``): 403 ``INVALID_ORIGIN`` otherwise (CSRF).
``SessionInfo.impersonated_by`` names the admin behind an impersonation session. FastAPI
dependencies are in :mod:`authkeeper.verifier.fastapi`.

This package needs only PyJWT, ``cryptography`` and httpx (``pip install 'authkeeper[verifier]'``)
and imports nothing else of authkeeper: the server's dependencies (SQLAlchemy, argon2, ...) need
not be installed.
"""

from __future__ import annotations

from .errors import VerifierError
from .jwks import CachePolicy, JWKSCache, KeySet
from .keys import DEFAULT_ALGORITHMS, VerifyingKey
from .principal import Claims, Permissions, Principal, RoleTable, SessionInfo, parse_roles
from .verify import Verifier

__all__ = [
    "DEFAULT_ALGORITHMS",
    "CachePolicy",
    "Claims",
    "JWKSCache",
    "KeySet",
    "Permissions",
    "Principal",
    "RoleTable",
    "SessionInfo",
    "Verifier",
    "VerifierError",
    "VerifyingKey",
    "parse_roles",
]
