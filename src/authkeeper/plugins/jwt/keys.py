"""Signing keys as Better Auth's jwt plugin stores them (spec §5.4): one ``jwks`` row per key,
the public JWK as JSON, the private JWK as JSON encrypted with the secret and JSON-quoted
(``JSON.stringify(symmetricEncrypt(JSON.stringify(jwk)))``; plain JWK JSON when encryption is
off), ``alg`` and ``crv`` (NULL in rows older than those columns: the configured algorithm).

Generation, export and import go through ``cryptography`` and PyJWT's JWK codecs; nothing
here signs or verifies by hand. A Better Auth database's keys are read as they are, and the
keys written here are read by Better Auth.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import AllowedPrivateKeys, AllowedPublicKeys, ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from ...core.crypto import symmetric
from ...core.crypto.random import generate_id

CURVES = {"EdDSA": "Ed25519", "ES256": "P-256", "ES512": "P-521"}
"""The curve of each elliptic-curve algorithm (RSA keys have none)."""
RSA_BITS = 2048
"""Better Auth's default modulus length."""
PUBLIC_MEMBERS = {"OKP": ("kty", "crv", "x"), "EC": ("kty", "crv", "x", "y"), "RSA": ("kty", "n", "e")}
"""What a JWKS entry may carry of each key type (RFC 7518 §6, RFC 8037 §2): the public key."""


class UnreadableKey(ValueError):
    """A stored key that cannot be used: no configured secret opens its private half, or a
    JWK that does not parse. The message names the key, never its material."""


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One ``jwks`` row."""

    id: str
    """The ``kid`` of the tokens it signs."""
    public_key: str
    """The public JWK, as JSON text."""
    private_key: str
    """The private JWK as stored (encrypted and JSON-quoted, or plain JSON)."""
    created_at: datetime
    expires_at: datetime | None
    """When it stops signing (None: never)."""
    alg: str | None
    crv: str | None
    successor_of: str | None = None
    """authkeeper's own: the key it replaced ("" for a first key; None in Better Auth's rows)."""

    def algorithm(self, default: str) -> str:
        return self.alg or default

    def public_jwk(self, default_alg: str) -> dict[str, Any]:
        """The JWKS entry: Better Auth's (``alg``, ``crv``, the JWK's members, ``kid``), plus
        ``use: sig``."""
        jwk = json.loads(self.public_key)
        if not isinstance(jwk, dict):
            raise UnreadableKey(f"key {self.id}: the public key is not a JWK")
        members = PUBLIC_MEMBERS.get(jwk.get("kty"))  # type: ignore[arg-type]
        if members is None:
            raise UnreadableKey(f"key {self.id}: not an OKP, EC or RSA key")
        entry: dict[str, Any] = {"alg": self.algorithm(default_alg)}
        crv = self.crv or CURVES.get(entry["alg"])
        if crv and jwk["kty"] in ("OKP", "EC"):
            entry["crv"] = crv
        # Only the public members, whatever else the row holds (never d, p, q, ... nor k).
        entry.update({k: jwk[k] for k in members if k in jwk})
        entry["kid"] = self.id
        entry["use"] = "sig"
        return entry


def record_of(row: Mapping[str, Any]) -> KeyRecord:
    return KeyRecord(
        id=row["id"],
        public_key=row["publicKey"],
        private_key=row["privateKey"],
        created_at=row["createdAt"],
        expires_at=row["expiresAt"],
        alg=row["alg"],
        crv=row["crv"],
        successor_of=row.get("successorOf"),
    )


def row_of(record: KeyRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "publicKey": record.public_key,
        "privateKey": record.private_key,
        "createdAt": record.created_at,
        "expiresAt": record.expires_at,
        "alg": record.alg,
        "crv": record.crv,
        "successorOf": record.successor_of,
    }


def _generate(alg: str) -> Any:
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "ES512":
        return ec.generate_private_key(ec.SECP521R1())
    if alg in ("RS256", "PS256"):
        return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    raise ValueError(f"unsupported algorithm {alg!r}")


def _codec(alg: str) -> type[OKPAlgorithm | ECAlgorithm | RSAAlgorithm]:
    if alg == "EdDSA":
        return OKPAlgorithm
    if alg.startswith("ES"):
        return ECAlgorithm
    return RSAAlgorithm


def new_key(
    alg: str, *, secret: str, encrypt: bool, now: datetime, expires_at: datetime | None, successor_of: str
) -> KeyRecord:
    """A fresh key pair of ``alg`` as a row (CPU-bound for RSA: call it off the event loop)."""
    private = _generate(alg)
    codec = _codec(alg)
    private_jwk = codec.to_jwk(private)
    public_jwk = codec.to_jwk(private.public_key())
    return KeyRecord(
        id=generate_id(),
        public_key=public_jwk,
        private_key=json.dumps(symmetric.encrypt(secret, private_jwk)) if encrypt else private_jwk,
        created_at=now,
        expires_at=expires_at,
        alg=alg,
        crv=CURVES.get(alg),
        successor_of=successor_of,
    )


def private_key(record: KeyRecord, secrets: tuple[str, ...], default_alg: str) -> AllowedPrivateKeys:
    """The private key of ``record``: decrypted with the first of ``secrets`` that opens it
    (rotation keeps old rows readable), or read as plain JWK JSON when stored unencrypted."""
    try:
        stored = json.loads(record.private_key)
    except ValueError:
        raise UnreadableKey(f"key {record.id}: the private key is neither JSON nor encrypted JSON") from None
    if isinstance(stored, str):
        try:
            text = symmetric.decrypt(secrets, stored)
        except symmetric.DecryptionError:
            raise UnreadableKey(f"key {record.id}: no configured secret opens its private key") from None
    elif isinstance(stored, dict):
        text = record.private_key
    else:
        raise UnreadableKey(f"key {record.id}: the private key is not a JWK")
    key: AllowedPrivateKeys = _load(record, text, default_alg, private=True)
    return key


def public_key(record: KeyRecord, default_alg: str) -> AllowedPublicKeys:
    key: AllowedPublicKeys = _load(record, record.public_key, default_alg, private=False)
    return key


def _load(record: KeyRecord, text: str, default_alg: str, *, private: bool) -> Any:
    alg = record.algorithm(default_alg)
    try:
        key = _codec(alg).from_jwk(text)
    except Exception:  # noqa: BLE001 - PyJWT raises several kinds for a bad JWK
        raise UnreadableKey(f"key {record.id}: not a valid {alg} JWK") from None
    if private != hasattr(key, "public_key"):
        raise UnreadableKey(f"key {record.id}: expected a {'private' if private else 'public'} key")
    size = getattr(key, "key_size", None)
    if alg in ("RS256", "PS256") and (size is None or size < RSA_BITS):
        # NIST SP 800-131A: under 2048 bits is no longer acceptable (verifiers refuse it too).
        raise UnreadableKey(f"key {record.id}: an RSA key of {size} bits (at least {RSA_BITS} are needed)")
    return key
