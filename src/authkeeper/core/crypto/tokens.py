"""Stateless email-verification tokens: HS256 JWTs as Better Auth issues them (spec §7.14)."""

from __future__ import annotations

import time
from typing import Any

import jwt


class TokenError(Exception):
    """The token is invalid; ``expired`` tells an expired one apart."""

    def __init__(self, expired: bool = False) -> None:
        self.expired = expired
        super().__init__("expired" if expired else "invalid")


def encode_jwt(secret: str, claims: dict[str, Any], expires_in: int) -> str:
    now = int(time.time())
    return jwt.encode({**claims, "iat": now, "exp": now + expires_in}, secret, algorithm="HS256")


def decode_jwt(secrets: tuple[str, ...], token: str) -> dict[str, Any]:
    """Claims of a token signed with any of ``secrets``; raises :class:`TokenError`."""
    expired = False
    for secret in secrets:
        try:
            return dict(jwt.decode(token, secret, algorithms=["HS256"]))
        except jwt.ExpiredSignatureError:
            expired = True
        except jwt.PyJWTError:
            continue
    raise TokenError(expired=expired)
