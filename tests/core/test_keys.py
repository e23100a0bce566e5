"""Keys for the values only authkeeper reads are derived per purpose with HKDF; the values
Better Auth reads keep its derivation (Hardening II, item 10; the table is in the README)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from authkeeper.core.crypto import keys
from authkeeper.core.crypto.signing import mac_b64url
from authkeeper.pages import csrf
from authkeeper.plugins.two_factor import otp as tf_otp

SECRET = "a secret of at least thirty-two characters"
OLD = "the previous secret, still accepted for now"


def hkdf(secret: str, purpose: str) -> bytes:
    info = f"authkeeper/v1/{purpose}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_each_purpose_has_its_own_key() -> None:
    derived = {purpose: keys.derive(SECRET, purpose) for purpose in keys.PURPOSES}
    assert len(set(derived.values())) == len(keys.PURPOSES)
    for purpose, key in derived.items():
        assert key == hkdf(SECRET, purpose)
        assert key != SECRET.encode() and key != hashlib.sha256(SECRET.encode()).digest()
    with pytest.raises(ValueError):
        keys.derive(SECRET, "something else")


def test_csrf_tokens_use_the_derived_key_and_rotate() -> None:
    seed = csrf.new_seed()
    token = csrf.token_for((SECRET,), seed, "session-1")
    message = f"csrf|{seed}|session-1"
    assert token == b64(hmac.new(hkdf(SECRET, keys.CSRF_TOKEN), message.encode(), hashlib.sha256).digest())
    # A MAC under the raw secret (today's keying before this change) is no token.
    assert not csrf.check((SECRET,), seed, "session-1", mac_b64url(SECRET, message))
    # Rotation: a token made under the previous secret still passes, derived the same way.
    old = csrf.token_for((OLD,), seed, "session-1")
    assert csrf.check((SECRET, OLD), seed, "session-1", old)
    assert not csrf.check((SECRET,), seed, "session-1", old)


def test_mailed_code_digests_use_the_derived_key() -> None:
    digest = tf_otp._otp_digest(SECRET, "2fa-otp-abc", "123456")
    expected = hmac.new(hkdf(SECRET, keys.MAILED_CODE), b"2fa-otp-abc:123456", hashlib.sha256).digest()
    assert digest == b64(expected)
    assert digest != mac_b64url(SECRET, "2fa-otp-abc:123456")
    assert keys.matches((OLD, SECRET), keys.MAILED_CODE, "2fa-otp-abc:123456", digest)
    assert not keys.matches((OLD,), keys.MAILED_CODE, "2fa-otp-abc:123456", digest)
