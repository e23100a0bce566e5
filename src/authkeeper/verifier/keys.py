"""Reading a JWKS into verifying keys, each bound to the one algorithm it may verify.

The algorithm comes from the key (its ``alg``, else its type and curve), never from a token:
a token only gets to *name* a key, and is then refused unless its ``alg`` is the key's. That
closes the classic confusions (``alg: none``, HS256 "signed" with the public key, an RSA key
used for another padding). Keys that cannot be used safely are dropped one by one, so one odd
entry (a new key type, a symmetric key, a published private key) does not take the set down.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

log = logging.getLogger("authkeeper.verifier")

DEFAULT_ALGORITHMS: Final = ("EdDSA", "ES256", "ES512", "RS256", "PS256")
"""What Better Auth's jwt plugin can sign with (ES512 and PS256 included)."""

_RSA = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
KEY_TYPES: Final[dict[str, tuple[str, frozenset[str] | None]]] = {
    "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
    "ES256": ("EC", frozenset({"P-256"})),
    "ES384": ("EC", frozenset({"P-384"})),
    "ES512": ("EC", frozenset({"P-521"})),
    **{alg: ("RSA", None) for alg in _RSA},
}
"""Every algorithm the verifier can be allowed, with the key type (and curves) it needs. No
``none``, no HMAC: a public key set cannot carry a shared secret."""

_CURVE_ALGORITHMS = {"Ed25519": "EdDSA", "Ed448": "EdDSA", "P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")
MIN_RSA_BITS = 2048


def check_algorithms(algorithms: Iterable[str]) -> tuple[str, ...]:
    """The allow-list, checked at configuration: a refused name fails start-up, not a request."""
    if isinstance(algorithms, str):
        raise TypeError("algorithms must be a list of names, e.g. ['EdDSA']")
    allowed = tuple(dict.fromkeys(algorithms))
    if not allowed:
        raise ValueError("algorithms must name at least one algorithm")
    for alg in allowed:
        if not isinstance(alg, str) or alg not in KEY_TYPES:
            if isinstance(alg, str) and (alg.lower() == "none" or alg.upper().startswith("HS")):
                raise ValueError(f"{alg!r} cannot verify a token signed by an auth server; it is never allowed")
            raise ValueError(f"unsupported algorithm {alg!r}; choose from {', '.join(KEY_TYPES)}")
    return allowed


@dataclass(frozen=True, slots=True)
class VerifyingKey:
    kid: str
    algorithm: str
    key: Any
    """The public key object (``cryptography``) PyJWT verifies with."""


def key_algorithm(jwk: dict[str, Any]) -> str | None:
    """The algorithm a JWK may verify, or ``None`` when it names none usable or contradicts
    itself (``alg: ES512`` on a P-256 key)."""
    kty, crv, alg = jwk.get("kty"), jwk.get("crv"), jwk.get("alg")
    if alg is None:
        alg = "RS256" if kty == "RSA" else _CURVE_ALGORITHMS.get(crv) if isinstance(crv, str) else None
    if not isinstance(alg, str) or alg not in KEY_TYPES:
        return None
    wanted_kty, curves = KEY_TYPES[alg]
    if kty != wanted_kty or (curves is not None and crv not in curves):
        return None
    return alg


def _verifying_key(jwk: object) -> VerifyingKey | None:
    if not isinstance(jwk, dict):
        return None
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        return None
    if jwk.get("use", "sig") != "sig":
        return None
    if any(member in jwk for member in _PRIVATE_MEMBERS):
        log.warning("the JWKS publishes private key material for kid %r; the key is ignored", kid[:64])
        return None
    alg = key_algorithm(jwk)
    if alg is None:
        return None
    try:
        key = jwt.PyJWK(jwk, algorithm=alg).key
    except Exception:  # noqa: BLE001  # a malformed member: drop this key, keep the others
        return None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        return None
    return VerifyingKey(kid, alg, key)


class JWKSError(ValueError):
    """Valid JSON, but not a usable key set."""


def parse_jwks(body: bytes) -> dict[str, VerifyingKey]:
    """``kid → key`` of every usable key; raises :class:`JWKSError` when the body is not a JWKS
    or holds no usable key (the cache then keeps the keys it had), ``ValueError`` when it is not
    JSON."""
    document = json.loads(body)
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JWKSError("not a JWKS")
    found: dict[str, VerifyingKey] = {}
    for entry in document["keys"]:
        key = _verifying_key(entry)
        # Two keys under one kid: the first stays (the set is ambiguous; first is the stable choice).
        if key is not None and key.kid not in found:
            found[key.kid] = key
    if not found:
        raise JWKSError("no usable key in the JWKS")
    return found
