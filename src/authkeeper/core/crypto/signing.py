"""HMAC-SHA256 cookie signatures in Better Auth's format (spec §2.3).

The signed form is ``value + "." + base64(HMAC-SHA256(secret, value))`` with standard
base64 and padding (always 44 characters). The first secret signs; every secret verifies,
so a secret can be rotated without signing everybody out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote, unquote

_SIG_LEN = 44


def hmac_sha256(secret: str, message: str) -> bytes:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()


def mac_b64url(secret: str, message: str) -> str:
    """HMAC-SHA256 of ``message`` as unpadded base64url: for values the server keys and later
    checks itself (trusted devices, mailed codes, form tokens)."""
    return base64.urlsafe_b64encode(hmac_sha256(secret, message)).rstrip(b"=").decode()


def _signature(secret: str, value: str) -> str:
    return base64.b64encode(hmac_sha256(secret, value)).decode()


class CookieSigner:
    """Signs and verifies cookie values.

    Args:
        secrets: the current secret first, then older ones still accepted.
    """

    def __init__(self, secrets: tuple[str, ...]) -> None:
        if not secrets or not secrets[0]:
            raise ValueError("a signing secret is required")
        self._secrets = secrets

    def sign(self, value: str) -> str:
        """The signed value, not yet URL-encoded."""
        return f"{value}.{_signature(self._secrets[0], value)}"

    def sign_for_cookie(self, value: str) -> str:
        """The signed value encoded as ``encodeURIComponent`` would (what goes on the wire)."""
        return quote(self.sign(value), safe="-_.!~*'()")

    def unsign(self, signed: str | None) -> str | None:
        """The value if the signature is valid under any secret, else ``None``."""
        if not signed:
            return None
        if "%" in signed:
            signed = unquote(signed)
        value, dot, signature = signed.rpartition(".")
        # Percent-decoding can yield any character: a signature that is not ASCII is no
        # signature (and compare_digest refuses to compare non-ASCII text).
        if not dot or not value or len(signature) != _SIG_LEN or not signature.endswith("=") or not signature.isascii():
            return None
        for secret in self._secrets:
            if hmac.compare_digest(_signature(secret, value), signature):
                return value
        return None
