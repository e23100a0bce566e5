"""Encryption at rest in Better Auth's format (spec §5.5): 2FA secrets and backup codes.

key = SHA-256(UTF-8 secret); XChaCha20-Poly1305 (IETF) without associated data; a random
24-byte nonce is prepended to ciphertext ‖ tag and the whole is lowercase hex. Better
Auth's versioned form ``$ba$<version>$<hex>`` is read too. Decryption tries every
configured secret, newest first, so rotating the secret keeps old rows readable.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

from nacl import bindings
from nacl.exceptions import CryptoError

NONCE_SIZE = bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
"""24 bytes: XChaCha20's extended nonce, safe to pick at random (draft-irtf-cfrg-xchacha §2)."""
ENVELOPE_PREFIX = "$ba$"


class DecryptionError(ValueError):
    """No configured secret opens the ciphertext (or it is malformed)."""


def _key(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def encrypt(secret: str, plaintext: str, *, nonce: bytes | None = None) -> str:
    """Encrypt ``plaintext`` under ``secret``; ``nonce`` is for test vectors only."""
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"nonce must be {NONCE_SIZE} bytes")
    sealed = bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext.encode("utf-8"), None, nonce, _key(secret))
    return (nonce + sealed).hex()


def _strip_envelope(data: str) -> str:
    if not data.startswith(ENVELOPE_PREFIX):
        return data
    version, sep, rest = data[len(ENVELOPE_PREFIX) :].partition("$")
    if not sep or not version.isdigit():
        raise DecryptionError("malformed envelope")
    # authkeeper's secrets carry no version numbers: every secret is tried below.
    return rest


def decrypt(secrets: Sequence[str], data: str) -> str:
    """The plaintext, opened with the first of ``secrets`` that authenticates it."""
    try:
        raw = bytes.fromhex(_strip_envelope(data))
    except ValueError:
        raise DecryptionError("not hex") from None
    if len(raw) < NONCE_SIZE + bindings.crypto_aead_xchacha20poly1305_ietf_ABYTES:
        raise DecryptionError("too short")
    nonce, sealed = raw[:NONCE_SIZE], raw[NONCE_SIZE:]
    for secret in secrets:
        try:
            opened = bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(sealed, None, nonce, _key(secret))
        except CryptoError:
            continue
        return opened.decode("utf-8")
    raise DecryptionError("no secret opens this ciphertext")
