"""TOTP (RFC 6238 / RFC 4226 vectors), the otpauth URI, and encryption at rest (spec §5.5)."""

from __future__ import annotations

import json

import pytest

from authkeeper.core.crypto import symmetric, totp
from authkeeper.core.crypto.random import URL_SAFE
from authkeeper.plugins.two_factor import qr_svg
from authkeeper.plugins.two_factor.backup_codes import generate

# RFC 6238 Appendix B: 8 digits; the seeds are ASCII "1234567890" repeated to the hash size.
SEED_SHA1 = b"12345678901234567890"
SEED_SHA256 = b"12345678901234567890123456789012"
SEED_SHA512 = b"1234567890123456789012345678901234567890123456789012345678901234"
RFC6238 = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("at", "sha1", "sha256", "sha512"), RFC6238)
def test_rfc6238_appendix_b(at: int, sha1: str, sha256: str, sha512: str) -> None:
    assert totp.totp(SEED_SHA1, at, digits=8) == sha1
    assert totp.totp(SEED_SHA256, at, digits=8, digest="sha256") == sha256
    assert totp.totp(SEED_SHA512, at, digits=8, digest="sha512") == sha512


def test_rfc6238_time_steps() -> None:
    assert totp.time_step(59) == 1
    assert totp.time_step(1111111109) == 0x23523EC
    assert totp.time_step(20000000000) == 0x27BC86AA


def test_rfc4226_appendix_d() -> None:
    expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]
    assert [totp.hotp(SEED_SHA1, i) for i in range(10)] == expected


def test_one_step_of_drift_either_way() -> None:
    at = 1_700_000_000
    step = totp.time_step(at)
    for delta in (-1, 0, 1):
        code = totp.hotp(SEED_SHA1, step + delta)
        assert totp.match_step(SEED_SHA1, code, at) == step + delta
    for delta in (-2, 2):
        assert totp.match_step(SEED_SHA1, totp.hotp(SEED_SHA1, step + delta), at) is None
    assert totp.match_step(SEED_SHA1, "12345", at) is None
    assert totp.match_step(SEED_SHA1, "１２３４５６", at) is None  # non-ASCII input is just wrong


def test_secret_is_better_auths_shape() -> None:
    secret = totp.generate_secret()
    assert len(secret) == 32 and set(secret) <= set(URL_SAFE)
    assert totp.secret_key(secret) == secret.encode()
    # Better Auth 1.7.25 also stores "base32:<key>".
    assert totp.secret_key("base32:" + totp.base32_nopad(b"raw key bytes").lower()) == b"raw key bytes"


def test_otpauth_uri_matches_better_auth() -> None:
    # Produced by @better-auth/utils' createOTP(secret).url(issuer, account) and .hotp().
    key = totp.secret_key("Ab-_0123456789xyzXYZabcdefghijkl")
    uri = totp.otpauth_uri(key, issuer="My App & Co/ü~*", account="ann+x@example.com")
    assert uri == (
        "otpauth://totp/My%20App%20%26%20Co%2F%C3%BC~*:ann%2Bx%40example.com"
        "?secret=IFRC2XZQGEZDGNBVGY3TQOLYPF5FQWK2MFRGGZDFMZTWQ2LKNNWA"
        "&issuer=My+App+%26+Co%2F%C3%BC%7E*&digits=6&period=30"
    )
    assert totp.hotp(key, 56666666) == "110877"


def test_qr_svg() -> None:
    svg = qr_svg("otpauth://totp/authkeeper:ann%40example.com?secret=ABC&issuer=authkeeper&digits=6&period=30")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert 'xmlns="http://www.w3.org/2000/svg"' in svg and "<?xml" not in svg


def test_backup_codes_shape() -> None:
    codes = generate(10)
    assert len(codes) == len(set(codes)) == 10
    for code in codes:
        first, dash, last = code.partition("-")
        assert dash and len(first) == len(last) == 5 and (first + last).isalnum() and (first + last).isascii()


# -- encryption at rest ----------------------------------------------------------------------
BA_SECRET = "better-auth-secret-12345678901234567890"
PLAINTEXT = "KeyFor2FA_secret-0123456789abcdef"


def test_round_trip_and_random_nonce() -> None:
    a = symmetric.encrypt(BA_SECRET, PLAINTEXT)
    b = symmetric.encrypt(BA_SECRET, PLAINTEXT)
    assert a != b and a == a.lower()
    assert len(bytes.fromhex(a)) == 24 + len(PLAINTEXT) + 16
    assert symmetric.decrypt((BA_SECRET,), a) == symmetric.decrypt((BA_SECRET,), b) == PLAINTEXT


def test_fixed_nonce_vector() -> None:
    # @noble/ciphers xchacha20poly1305(SHA-256(secret), nonce 00..17) as Better Auth uses it.
    expected = (
        "000102030405060708090a0b0c0d0e0f1011121314151617"
        "0a0d95d5ccf580d477902100121f6d97c9d86c5722b913e029135bf893a467ceaaa310a45108908c95edb0f5b2c2ec2529"
    )
    assert symmetric.encrypt(BA_SECRET, PLAINTEXT, nonce=bytes(range(24))) == expected
    assert symmetric.decrypt((BA_SECRET,), expected) == PLAINTEXT


def test_decrypts_better_auth_output() -> None:
    # better-auth@1.7.25 symmetricEncrypt({key: BA_SECRET, data: PLAINTEXT}).
    made_by_js = (
        "45a8171f3bcdc104a047d20fc4e695174da8adde0d5e4305181e105dff4c7fd6bd9ef3f9b9ed670a25b6ce160179b5ef"
        "51dc17dfc4c0f551f7c5729392d50b7c4c1865384275e4daa5"
    )
    assert symmetric.decrypt((BA_SECRET,), made_by_js) == PLAINTEXT
    # The versioned envelope ($ba$<version>$<hex>) with secrets {2: new, 1: BA_SECRET}, version 2.
    envelope = (
        "$ba$2$aba417ba702572e8c145ba2100a386120ed0d097709517c63d5ad85c6bc2cd18f305897bfa0f4884ca30b81e"
        "f9acfe408acff71d217036d7d1553e4095180ab0678948c2bc"
    )
    opened = symmetric.decrypt(("new-secret-abcdefghijklmnopqrstuvwxyz01", BA_SECRET), envelope)
    assert json.loads(opened) == ["abcde-12345", "ABCDE-67890"]


def test_rotation_reads_with_previous_secret() -> None:
    old = symmetric.encrypt("old secret", PLAINTEXT)
    assert symmetric.decrypt(("new secret", "old secret"), old) == PLAINTEXT
    with pytest.raises(symmetric.DecryptionError):
        symmetric.decrypt(("new secret",), old)


def test_tampering_is_refused() -> None:
    sealed = bytearray(bytes.fromhex(symmetric.encrypt(BA_SECRET, PLAINTEXT)))
    sealed[30] ^= 1
    for bad in (sealed.hex(), "zz", "00" * 10, "$ba$x$00"):
        with pytest.raises(symmetric.DecryptionError):
            symmetric.decrypt((BA_SECRET,), bad)
