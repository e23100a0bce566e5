"""Every algorithm the plugin can make signs tokens that verify with PyJWT and the JWKS entry
alone; a table holding keys of several algorithms publishes and verifies them all; and a
key's algorithm is pinned: the same key under another algorithm's name is refused."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import jwt as pyjwt
import pytest

from authkeeper.plugins.jwt import JwtSettings
from authkeeper.plugins.jwt.settings import ALGORITHMS
from tests.conftest import TestApp

from .helpers import b64json, claims_of, get_token, header_of, jwks, records, service, session_token, verify_with_jwks

pytestmark = pytest.mark.anyio

SHAPES: dict[str, tuple[str, str | None, set[str]]] = {
    "EdDSA": ("OKP", "Ed25519", {"kty", "crv", "x", "kid", "alg", "use"}),
    "ES256": ("EC", "P-256", {"kty", "crv", "x", "y", "kid", "alg", "use"}),
    "ES512": ("EC", "P-521", {"kty", "crv", "x", "y", "kid", "alg", "use"}),
    "RS256": ("RSA", None, {"kty", "n", "e", "kid", "alg", "use"}),
    "PS256": ("RSA", None, {"kty", "n", "e", "kid", "alg", "use"}),
}


def _modulus_bits(n: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4)), "big").bit_length()


@pytest.mark.parametrize("alg", ALGORITHMS)
async def test_each_algorithm_signs_and_verifies(make_app: Callable[..., Any], alg: str) -> None:
    app: TestApp = await make_app(jwt=JwtSettings(enabled=True, algorithm=alg))
    await session_token(app)
    token = await get_token(app)
    assert header_of(token)["alg"] == alg
    keys = await jwks(app)
    (entry,) = keys
    kty, crv, members = SHAPES[alg]
    # PyJWT's RSA export adds key_ops; consistent with use: sig (RFC 7517 §4.3), so allowed.
    assert set(entry) - {"key_ops"} == members, entry
    assert entry.get("key_ops", ["verify"]) == ["verify"]
    assert (entry["kty"], entry.get("crv"), entry["alg"]) == (kty, crv, alg)
    if kty == "RSA":
        assert _modulus_bits(entry["n"]) >= 2048
    claims = verify_with_jwks(token, keys)
    assert claims["email"] == "ann@example.com"
    found = await service(app).verify(app.ctx, token)
    assert found is not None and found["sub"] == claims["sub"]
    (record,) = await records(app)
    assert record.alg == alg and record.crv == crv


async def test_a_mixed_table_publishes_and_verifies_every_key(make_app: Callable[..., Any], tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'mixed.db'}"
    tokens: dict[str, str] = {}
    apps: list[TestApp] = [
        await make_app(db_url=url, jwt=JwtSettings(enabled=True, algorithm=alg)) for alg in ALGORITHMS
    ]
    bearer_token = await session_token(apps[0])
    for alg, app in zip(ALGORITHMS, apps, strict=True):
        token = await get_token(app, {"authorization": f"Bearer {bearer_token}"})
        assert header_of(token)["alg"] == alg
        tokens[alg] = token
    # The last app (PS256) publishes the keys of every algorithm, each with its own alg ...
    last = apps[-1]
    keys = await jwks(last)
    assert sorted(k["alg"] for k in keys) == sorted(ALGORITHMS)
    assert len({k["kid"] for k in keys}) == len(ALGORITHMS)
    for alg, token in tokens.items():
        assert verify_with_jwks(token, keys)["sub"] == claims_of(token)["sub"]
        # ... and every app verifies every token, whatever algorithm it signs with.
        for app in apps:
            await service(app).keys.rows(fresh=True)
            assert await service(app).verify(app.ctx, token) is not None, (alg, app.auth.settings)


@pytest.mark.parametrize(("alg", "other"), [("RS256", "PS256"), ("PS256", "RS256"), ("ES256", "ES512")])
async def test_a_key_signs_under_its_own_algorithm_only(make_app: Callable[..., Any], alg: str, other: str) -> None:
    """The server's own private key, signing under another algorithm of the same family with
    the key's kid: a confused verifier would accept it; ours pins the stored algorithm."""
    app: TestApp = await make_app(jwt=JwtSettings(enabled=True, algorithm=alg))
    await session_token(app)
    genuine = await get_token(app)
    record, private = await service(app).keys.signing_key()
    claims = claims_of(genuine)
    if other == "ES512":
        # A P-256 key cannot make an ES512 signature: label a genuine ES256 signature ES512.
        _, body, sig = genuine.split(".")
        forged = ".".join((b64json({**header_of(genuine), "alg": other}), body, sig))
    else:
        forged = pyjwt.encode(claims, private, algorithm=other, headers={"kid": record.id, "typ": "JWT"})
    assert await service(app).verify(app.ctx, genuine) is not None
    assert await service(app).verify(app.ctx, forged) is None
