"""Keys for values only authkeeper reads, derived from the configured secret with HKDF.

Better Auth keys every value with the raw secret; where its code (or a database it shares)
reads a value, authkeeper must do the same, and does (see the key table in the README). For
values no other program ever reads (the pages' CSRF tokens, the digests of mailed codes), a
key of their own is derived per purpose, so no two purposes share a key and a value made for
one can never pass as another:

    key = HKDF-SHA256(ikm = UTF-8 secret, salt = none, info = "authkeeper/v1/" + purpose, 32 bytes)

(RFC 5869, through the ``cryptography`` package). Each of ``previous_secrets`` is derived the
same way, so rotating the secret keeps working for these values too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CSRF_TOKEN = "pages/csrf-token"
MAILED_CODE = "two-factor/mailed-code-digest"
DECOY_OWNER = "flows/decoy-owner"
"""The stand-in user id under which a flow does, for an address with no account, the work it
does for a real one (the same per address, so concurrent requests contend alike)."""
PURPOSES = (CSRF_TOKEN, MAILED_CODE, DECOY_OWNER)
"""Every purpose a key is derived for; the README's key table lists them."""


@lru_cache(maxsize=64)
def derive(secret: str, purpose: str) -> bytes:
    """The 32-byte key of ``purpose`` under ``secret``."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown key purpose: {purpose!r}")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"authkeeper/v1/{purpose}".encode())
    return hkdf.derive(secret.encode("utf-8"))


def mac(secret: str, purpose: str, message: str) -> str:
    """Unpadded base64url HMAC-SHA256 of ``message`` under the key of ``purpose``."""
    digest = hmac.new(derive(secret, purpose), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def matches(secrets: tuple[str, ...] | list[str], purpose: str, message: str, given: str) -> bool:
    """Whether ``given`` is the MAC of ``message`` under any secret in rotation (constant time
    for each secret)."""
    expected = given.encode()
    found = False
    for secret in secrets:
        found |= hmac.compare_digest(mac(secret, purpose, message).encode(), expected)
    return found
