"""The jwt plugin's answers to a security review: each test failed before its fix."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from authkeeper import Authkeeper, Settings
from authkeeper.plugins.jwt import JwtService, JwtSettings
from tests.conftest import TestApp

from .helpers import bearer, freeze, get_token, header_of, jwks, records, service, session_token

pytestmark = pytest.mark.anyio
ON = JwtSettings(enabled=True)


async def test_a_key_whose_public_half_does_not_load_never_signs(make_app: Callable[..., Any]) -> None:
    """Its private half opens, its public one is broken: nobody could verify its tokens, so a
    key that can be published signs instead (and the JWKS is never empty)."""
    app: TestApp = await make_app(jwt=JwtSettings(enabled=True, encrypt_private_keys=False))
    clock = freeze(app)
    signed = await session_token(app)
    private = OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.generate())
    await app.auth.store.insert(
        "jwks",
        {"id": "half-key", "publicKey": '{"kty": "OKP", "crv": "Ed25519"}', "privateKey": private,
         "createdAt": clock() - timedelta(days=1), "alg": "EdDSA", "crv": "Ed25519"},
    )  # fmt: skip
    await service(app).keys.rows(fresh=True)
    token = await get_token(app, bearer(signed))
    kid = header_of(token)["kid"]
    assert kid != "half-key"
    assert kid in [k["kid"] for k in await jwks(app)]
    assert await service(app).verify(app.auth.ctx, token) is not None


async def test_an_rsa_key_under_2048_bits_is_replaced(make_app: Callable[..., Any]) -> None:
    """A Better Auth row made with ``modulusLength: 1024``: verifiers refuse it, so the server
    neither signs with it nor publishes it."""
    app: TestApp = await make_app(jwt=JwtSettings(enabled=True, algorithm="RS256", encrypt_private_keys=False))
    clock = freeze(app)
    signed = await session_token(app)
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    await app.auth.store.insert(
        "jwks",
        {"id": "weak-key", "publicKey": RSAAlgorithm.to_jwk(weak.public_key()), "privateKey": RSAAlgorithm.to_jwk(weak),
         "createdAt": clock() - timedelta(days=1), "alg": "RS256", "crv": None},
    )  # fmt: skip
    await service(app).keys.rows(fresh=True)
    token = await get_token(app, bearer(signed))
    assert header_of(token)["kid"] != "weak-key"
    assert "weak-key" not in [k["kid"] for k in await jwks(app)]


async def test_the_cacheable_jwks_varies_on_origin(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=ON)
    r = await app.get("/jwks")
    assert r.headers["cache-control"] == "public, max-age=300"
    assert "origin" in r.headers.get("vary", "").lower()


def test_a_jwks_path_that_names_another_route_stops_start_up() -> None:
    for path in ("/get-session", "/token"):
        with pytest.raises(ValueError, match=f"two endpoints serve GET {path}"):
            Authkeeper(Settings(secret="s" * 40, sections={"jwt": JwtSettings(enabled=True, jwks_path=path)}))


async def test_a_failure_to_sign_leaves_get_session_answering(
    make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    app: TestApp = await make_app(jwt=ON)
    await session_token(app)

    async def broken(*_args: Any, **_kw: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(JwtService, "issue", broken)
    r = await app.get("/get-session")
    assert r.status_code == 200 and r.json()["user"]["email"] == "ann@example.com"
    assert "set-auth-jwt" not in r.headers


async def test_a_token_cannot_outlive_the_publication_of_its_key(make_app: Callable[..., Any]) -> None:
    """A plugin asking for a longer token than ``max_expires_in`` is refused (a programming
    error), and a retired key stays published for ``max_expires_in`` + ``grace_period``."""
    cfg = JwtSettings(enabled=True, rotation_interval=3600, max_expires_in=7200, grace_period=60)
    app: TestApp = await make_app(jwt=cfg)
    clock = freeze(app)
    await session_token(app)
    r = await app.get("/get-session")
    user, session = r.json()["user"], r.json()["session"]
    jwt = service(app)
    found = await app.auth.store.find_session(session["token"])
    assert found is not None and found[1].id == user["id"]
    issued = await jwt.issue(app.auth.ctx, found[1], found[0], expires_in=7200)
    assert issued.expires_in == 7200
    with pytest.raises(ValueError, match="max_expires_in"):
        await jwt.issue(app.auth.ctx, found[1], found[0], expires_in=7201)
    (first,) = await records(app)
    assert first.expires_at is not None
    clock.to(first.expires_at + timedelta(seconds=7200 + 59))
    await jwt.keys.rows(fresh=True)
    assert first.id in [k["kid"] for k in await jwks(app)]
    clock.to(first.expires_at + timedelta(seconds=7200 + 61))
    assert first.id not in [k["kid"] for k in await jwks(app)]


def test_max_expires_in_below_expires_in_is_refused() -> None:
    problems = Settings(secret="s" * 40, sections={"jwt": JwtSettings(expires_in=900, max_expires_in=600)}).problems()
    assert any(p.startswith("jwt.max_expires_in") for p in problems), problems
