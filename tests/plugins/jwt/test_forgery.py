"""Forged, stale and misplaced tokens against the server's own verification: ``JwtService.verify``
(the ``TokenIssuer`` service) and the ``jwt`` credential of a host route. Each case is a token
an attacker can make; none may verify, none may cause a 500. And the other way round: neither a
session token passes as a JWT nor a JWT as a session."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.algorithms import OKPAlgorithm

from authkeeper.plugins.admin import AdminSettings
from authkeeper.plugins.jwt import JwtService, JwtSettings
from authkeeper.plugins.jwt.tokens import LEEWAY, MAX_TOKEN
from tests.conftest import ORIGIN, SECRET, TestApp

from .helpers import (
    COOKIE,
    Clock,
    assemble,
    b64json,
    b64url,
    bearer,
    claims_of,
    counting_selects,
    freeze,
    get_token,
    header_of,
    jwks,
    jwt_route,
    service,
    session_token,
    swap_part,
)

pytestmark = pytest.mark.anyio


@dataclass
class Scene:
    app: TestApp
    clock: Clock
    jwt: JwtService
    route: httpx.AsyncClient
    signed_session: str
    token: str
    """A genuine token of ann's."""
    claims: dict[str, Any]
    kid: str
    private: Any
    """The server's own signing key (to isolate the claim checks from the signature check)."""

    async def verified(self, token: str) -> bool:
        return await self.jwt.verify(self.app.ctx, token) is not None

    async def accepted(self, token: str | bytes) -> bool:
        """Through the credential, as a host route sees a bearer."""
        value = token.encode("latin-1") if isinstance(token, str) else token
        r = await self.route.get("/whoami", headers=[(b"authorization", b"Bearer " + value)])
        assert r.status_code in (200, 401), (r.status_code, r.text)
        return r.status_code == 200

    async def refused(self, token: str) -> bool:
        return not await self.verified(token) and not await self.accepted(token)

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        """Signed by the server's real key: only the claims (or header) are wrong (built by hand:
        PyJWT refuses to encode some of them)."""
        return ed25519_token({"alg": "EdDSA", "kid": self.kid, "typ": "JWT", **header}, claims, self.private)


@pytest.fixture
async def scene(make_app: Callable[..., Any]) -> AsyncIterator[Scene]:
    app: TestApp = await make_app(jwt=JwtSettings(enabled=True))
    clock = freeze(app)
    signed = await session_token(app)
    token = await get_token(app)
    jwt = service(app)
    record, private = await jwt.keys.signing_key()
    route = jwt_route(app.auth)
    found = Scene(app, clock, jwt, route, signed, token, claims_of(token), record.id, private)
    assert await found.verified(token) and await found.accepted(token)
    yield found
    await route.aclose()


def attacker_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def ed25519_token(header: dict[str, Any], claims: dict[str, Any], key: ed25519.Ed25519PrivateKey) -> str:
    signing_input = f"{b64json(header)}.{b64json(claims)}"
    return f"{signing_input}.{b64url(key.sign(signing_input.encode()))}"


def hs256(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    signing_input = f"{b64json(header)}.{b64json(claims)}".encode()
    return f"{signing_input.decode()}.{b64url(hmac.new(key, signing_input, hashlib.sha256).digest())}"


# -- the signature ------------------------------------------------------------------------
async def test_alg_none(scene: Scene) -> None:
    for alg in ("none", "None", "NONE", "nOnE"):
        token = assemble({"alg": alg, "kid": scene.kid, "typ": "JWT"}, scene.claims)
        assert await scene.refused(token), alg
        # With the genuine signature left on, too.
        assert await scene.refused(token.rsplit(".", 1)[0] + "." + scene.token.rsplit(".", 1)[1]), alg
    unsigned = pyjwt.encode(scene.claims, None, algorithm="none", headers={"kid": scene.kid})  # type: ignore[arg-type]
    assert await scene.refused(unsigned)


async def test_hs256_signed_with_the_public_key(scene: Scene) -> None:
    """The classic confusion: the public key (which anyone has) as an HMAC secret."""
    (entry,) = await jwks(scene.app)
    public = scene.private.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (row,) = await scene.app.auth.store.select("jwks")
    candidates = [
        raw,
        pem,
        pem.strip(),
        json.dumps(entry).encode(),
        json.dumps(entry, separators=(",", ":")).encode(),
        row["publicKey"].encode(),
        entry["x"].encode(),
        SECRET.encode(),  # the cookie-signing secret
        b"",
    ]
    for alg in ("HS256", "HS384", "HS512"):
        for key in candidates:
            token = hs256({"alg": alg, "kid": scene.kid, "typ": "JWT"}, scene.claims, key)
            assert await scene.refused(token), (alg, key[:20])


async def test_unknown_missing_and_odd_kids(scene: Scene) -> None:
    mine = attacker_key()
    for header in (
        {"kid": secrets.token_urlsafe(24)},
        {"kid": ""},
        {"kid": 1},
        {"kid": [scene.kid]},
        {"kid": {"id": scene.kid}},
        {"kid": None},
        {"kid": "' OR '1'='1"},
        {"kid": "../" * 50},
        {"kid": "x" * 10_000},
        {"kid": scene.kid + "\x00"},
        {"kid": scene.kid.upper() if scene.kid.upper() != scene.kid else scene.kid.lower()},
        {},
    ):
        forged = ed25519_token({"alg": "EdDSA", **header}, scene.claims, mine)
        assert await scene.refused(forged), header
        # The genuine signature under a header without our kid.
        relabelled = ".".join((b64json({"alg": "EdDSA", "typ": "JWT", **header}), *scene.token.split(".")[1:]))
        assert await scene.refused(relabelled), header


async def test_another_keys_signature_under_our_kid(scene: Scene) -> None:
    mine = attacker_key()
    forged = pyjwt.encode(scene.claims, mine, algorithm="EdDSA", headers={"kid": scene.kid, "typ": "JWT"})
    assert await scene.refused(forged)
    # Carrying its own public key (jwk), or a URL to fetch one (jku, x5u), changes nothing.
    public_jwk = json.loads(OKPAlgorithm.to_jwk(mine.public_key()))
    for extra in (
        {"jwk": public_jwk},
        {"jku": "https://evil.example/jwks"},
        {"x5u": "https://evil.example/cert"},
        {"jwk": {**public_jwk, "kid": scene.kid}},
    ):
        forged = pyjwt.encode(scene.claims, mine, algorithm="EdDSA", headers={"kid": scene.kid, **extra})
        assert await scene.refused(forged), extra


async def test_another_deployment_with_the_same_secret(scene: Scene, make_app: Callable[..., Any]) -> None:
    """Same secret, same issuer, another database: its keys are not ours."""
    other: TestApp = await make_app(jwt=JwtSettings(enabled=True))
    await session_token(other)
    theirs = await get_token(other)
    assert claims_of(theirs)["iss"] == scene.claims["iss"]
    assert await scene.refused(theirs)


async def test_tampered_payload_header_and_signature(scene: Scene) -> None:
    for change in (
        {"sub": "someone-else"},
        {"email": "admin@example.com"},
        {"role": "admin"},
        {"exp": scene.claims["exp"] + 86400 * 365},
        {"aud": "http://other.example"},
    ):
        assert await scene.refused(swap_part(scene.token, 1, {**scene.claims, **change})), change
    head = header_of(scene.token)
    for change in ({"typ": "at+jwt"}, {"cty": "JWT"}, {"crit": ["exp"]}, {"extra": 1}):
        assert await scene.refused(swap_part(scene.token, 0, {**head, **change})), change
    body, sig = scene.token.rsplit(".", 1)
    assert await scene.refused(body + ".")
    assert await scene.refused(body + "." + sig[::-1])
    flipped = bytearray(pyjwt.utils.base64url_decode(sig))
    flipped[0] ^= 1
    assert await scene.refused(body + "." + b64url(bytes(flipped)))
    assert await scene.refused(scene.token + "." + sig)


# -- the claims (signed by the real key) ----------------------------------------------------
async def test_time_claims(scene: Scene) -> None:
    now = int(scene.clock().timestamp())
    base = {**scene.claims, "iat": now, "exp": now + 900}
    assert await scene.verified(scene.sign(base))
    for change in (
        {"exp": now - LEEWAY - 1},
        {"exp": now - 3600, "iat": now - 4500},
        {"nbf": now + 3600},
        {"nbf": now + LEEWAY + 5},
        {"iat": now + 3600, "exp": now + 7200},
        {"iat": now + LEEWAY + 5},
        {"exp": str(now + 900)},
        {"exp": True},
        {"iat": None},
        {"nbf": "0"},
        {"nbf": None},
        {"exp": None},
        {"exp": [now + 900]},
    ):
        assert await scene.refused(scene.sign({**base, **change})), change
    # Within the leeway both ways.
    assert await scene.verified(scene.sign({**base, "nbf": now + LEEWAY - 5, "iat": now + LEEWAY - 5}))
    assert await scene.verified(scene.sign({**base, "exp": now - LEEWAY + 5}))


async def test_a_genuine_token_expires_on_the_apps_clock(scene: Scene) -> None:
    exp = scene.claims["exp"]
    scene.clock.to(datetime.fromtimestamp(exp + LEEWAY - 2, UTC))
    assert await scene.verified(scene.token) and await scene.accepted(scene.token)
    scene.clock.advance(3)
    assert await scene.refused(scene.token)
    # Verification follows the app's clock alone (no state kept about the token).
    scene.clock.advance(-3)
    assert await scene.verified(scene.token)


async def test_missing_and_wrong_registered_claims(scene: Scene) -> None:
    for name in ("exp", "iat", "sub", "iss", "aud"):
        claims = {k: v for k, v in scene.claims.items() if k != name}
        assert await scene.refused(scene.sign(claims)), name
    for change in (
        {"aud": "http://evil.example"},
        {"aud": ORIGIN + "/"},
        {"aud": [ORIGIN.upper()]},
        {"iss": "http://evil.example"},
        {"iss": ORIGIN + "/"},
        {"iss": None},
        {"sub": 12345},
        {"sub": None},
        {"sub": ["a"]},
    ):
        assert await scene.refused(scene.sign({**scene.claims, **change})), change


async def test_a_token_for_a_user_who_does_not_exist(scene: Scene) -> None:
    """Signed by the real key (a stolen signer, or a user since deleted): verify() vouches for
    the token, the credential still wants a live user."""
    ghost = scene.sign({**scene.claims, "sub": "no-such-user", "id": "no-such-user"})
    assert await scene.verified(ghost)
    assert not await scene.accepted(ghost)


# -- not a JWT; not a session ---------------------------------------------------------------
async def test_session_tokens_are_no_jwts(scene: Scene) -> None:
    bare = (await scene.app.get("/get-session")).json()["session"]["token"]
    cookie_value = scene.app.client.cookies[COOKIE]
    for value in (bare, scene.signed_session, cookie_value, f"{bare}.{bare}.{bare}"):
        assert await scene.refused(value), value
    # The route takes JWTs only: the session cookie names nobody there either.
    scene.route.cookies.set(COOKIE, cookie_value)
    r = await scene.route.get("/whoami")
    assert r.status_code == 401
    scene.route.cookies.clear()
    # A route taking both takes the session by bearer as a session.
    both = jwt_route(scene.app.auth, ("session", "jwt"))
    r = await both.get("/whoami", headers=bearer(scene.signed_session))
    assert r.json()["kind"] == "session"
    r = await both.get("/whoami", headers=bearer(scene.token))
    assert r.json()["kind"] == "jwt" and r.json()["sub"] == scene.claims["sub"]
    await both.aclose()


async def test_jwts_are_no_sessions(scene: Scene) -> None:
    anon = scene.app.new_client()
    live = (await scene.app.get("/get-session")).json()["session"]["token"]
    try:
        r = await anon.get(scene.app.api("/get-session"), headers=bearer(scene.token))
        assert r.status_code == 200 and r.json() is None and "set-auth-jwt" not in r.headers
        r = await anon.get(scene.app.api("/token"), headers=bearer(scene.token))
        assert r.status_code == 401
        r = await anon.get(scene.app.api("/list-sessions"), headers=bearer(scene.token))
        assert r.status_code == 401
        # Signing out with it ends nothing.
        r = await anon.post(scene.app.api("/sign-out"), json={}, headers={"origin": ORIGIN, **bearer(scene.token)})
        assert r.status_code < 500
        assert await scene.app.auth.store.find_session(live) is not None
        # As the session cookie.
        anon.cookies.set(COOKIE, scene.token)
        r = await anon.get(scene.app.api("/get-session"))
        assert r.json() is None
        r = await anon.get(scene.app.api("/token"))
        assert r.status_code == 401
        # A session route of the host app does not take it either.
        sessions_only = jwt_route(scene.app.auth, ("session",))
        r = await sessions_only.get("/whoami", headers=bearer(scene.token))
        assert r.status_code == 401
        await sessions_only.aclose()
    finally:
        await anon.aclose()


GARBAGE: list[str] = [
    "",
    " ",
    ".",
    "..",
    "...",
    "a.b.c",
    "a.b",
    "a.b.c.d",
    "=.=.=",
    "e30.e30.",  # {} . {} .
    "W10.e30.",  # [] as the header
    "bnVsbA.e30.",  # null
    "MQ.e30.",  # 1
    "eyJhbGciOiJFZERTQSJ9.bm90IGpzb24.AA",  # the payload is not JSON
    "eyJhbGciOiJFZERTQSIsImtpZCI6IngifQ.W10.AA",  # the payload is a list
    "!!!.???.***",
    "\u00e9.\u00e9.\u00e9",
    "a" * (MAX_TOKEN + 1) + ".b.c",
    "a.b." + "c" * 200_000,
    ("eyJ" * 2000) + "." + ("eyJ" * 2000) + "." + "x",
]


async def test_garbage_never_500(scene: Scene) -> None:
    assert await scene.refused(b64json({"alg": "EdDSA", "kid": {"$ne": 1}}) + ".e30.AA")
    assert await scene.refused(b64json({"alg": ["EdDSA"], "kid": scene.kid}) + ".e30.AA")
    assert await scene.refused(b64json({"alg": "EdDSA", "kid": scene.kid}) + ".e30.AA")
    for text in GARBAGE:
        assert await scene.jwt.verify(scene.app.ctx, text) is None, text[:40]
        if text.strip() and text.isascii():
            assert not await scene.accepted(text), text[:40]
    # Latin-1 bytes and a bearer with no token at all.
    assert not await scene.accepted(b"\xff\xfe.\xfd.\xfc")
    for raw in (b"Bearer", b"Bearer ", b"bearer  " + scene.token.encode(), b"Basic " + scene.token.encode()):
        r = await scene.route.get("/whoami", headers=[(b"authorization", raw)])
        assert r.status_code in (200, 401), raw
    # The API itself, with garbage where a session is looked for.
    anon = scene.app.new_client()
    for text in GARBAGE[:-3]:
        if text.strip() and text.isascii():
            r = await anon.get(scene.app.api("/get-session"), headers=bearer(text))
            assert r.status_code == 200 and r.json() is None, text[:40]
            # ann's cookie is there too: a garbage bearer loses to it, and breaks nothing.
            r = await scene.app.get("/token", headers=bearer(text))
            assert r.status_code == 200, text[:40]
    await anon.aclose()


async def test_a_flood_of_unknown_kids_barely_reads_the_table(scene: Scene) -> None:
    mine = attacker_key()
    forged = [
        pyjwt.encode(scene.claims, mine, algorithm="EdDSA", headers={"kid": secrets.token_urlsafe(16)})
        for _ in range(150)
    ]
    with counting_selects(scene.app.auth) as reads:
        for token in forged[:100]:
            assert not await scene.verified(token)
        for token in forged[100:]:
            assert not await scene.accepted(token)
        assert await scene.accepted(scene.token)
    # One reload for the first unknown kid (so the count works); the others wait out the throttle.
    assert 1 <= reads[0] <= 2, reads[0]


async def test_banned_and_deleted_users_tokens_are_refused_by_the_credential(make_world: Callable[..., Any]) -> None:
    world = await make_world(jwt=JwtSettings(enabled=True), admin=AdminSettings())
    clock = freeze(world.app)
    route = jwt_route(world.app.auth)
    try:
        token = (await world.user.get("/token")).json()["token"]
        mod_token = (await world.mod.get("/token")).json()["token"]
        assert (await route.get("/whoami", headers=bearer(token))).json()["email"] == "ann@example.com"
        r = await world.admin.post("/admin/ban-user", {"userId": world.plain_user.id, "banExpiresIn": 120})
        assert r.status_code == 200, r.text
        # The token itself is genuine and alive; the credential refuses its banned subject.
        assert await service(world.app).verify(world.ctx, token) is not None
        assert (await route.get("/whoami", headers=bearer(token))).status_code == 401
        # The ban ends on the app's clock: the (still alive) token works again.
        clock.advance(121)
        assert (await route.get("/whoami", headers=bearer(token))).status_code == 200
        # Deleted: refused for good.
        r = await world.admin.post("/admin/remove-user", {"userId": world.mod_user.id})
        assert r.status_code == 200, r.text
        assert (await route.get("/whoami", headers=bearer(mod_token))).status_code == 401
    finally:
        await route.aclose()
