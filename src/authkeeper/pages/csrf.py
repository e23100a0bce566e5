"""CSRF tokens for the HTML forms: an HMAC-signed double submit bound to the visitor.

Each browser holds a random value in its own httpOnly, SameSite=Lax cookie. Every form
carries ``csrf_token`` = base64url(HMAC-SHA256(k, "csrf" | value | session id)), with ``k`` the
CSRF key derived from the secret (:mod:`authkeeper.core.crypto.keys`), so a
token is useless without the cookie, in another browser, or after the session changes
(a token taken before sign-in does not work after it: no login CSRF). Every secret in
rotation verifies; the first one signs.
"""

from __future__ import annotations

import re
from typing import TypeGuard

from ..core.crypto import keys
from ..core.crypto.random import generate_id

COOKIE = "csrf"
"""Logical cookie name; the wire name gets the cookie prefix (``better-auth.csrf``)."""
FIELD = "csrf_token"
"""Name of the hidden form field."""
SEED_LENGTH = 32

_SEED = re.compile(rf"^[A-Za-z0-9]{{{SEED_LENGTH}}}$")


def new_seed() -> str:
    return generate_id(SEED_LENGTH)


def valid_seed(value: str | None) -> TypeGuard[str]:
    return bool(value and _SEED.match(value))


def _mac(secret: str, seed: str, session_id: str) -> str:
    return keys.mac(secret, keys.CSRF_TOKEN, f"csrf|{seed}|{session_id}")


def token_for(secrets: tuple[str, ...], seed: str, session_id: str | None) -> str:
    """The token the forms of this visitor (and session) carry."""
    return _mac(secrets[0], seed, session_id or "")


def check(secrets: tuple[str, ...], seed: str | None, session_id: str | None, given: str | None) -> bool:
    """Whether ``given`` is this visitor's token (constant-time, any secret in rotation)."""
    if not valid_seed(seed) or not given or len(given) > 128:
        return False
    return keys.matches(secrets, keys.CSRF_TOKEN, f"csrf|{seed}|{session_id or ''}", given)
