"""The jwt plugin on the wire (Better Auth's protocol): ``GET /token``, ``GET /jwks`` with its
``Cache-Control``, ``set-auth-jwt`` after get-session, the claims, and settings that are
refused before anything is served."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt as pyjwt
import pytest

from authkeeper import Authkeeper, Settings
from authkeeper.core.changes import UserUpdate
from authkeeper.core.settings import RateLimitSettings, UserSettings
from authkeeper.core.settings_areas import AdditionalField, RateLimitRule
from authkeeper.plugins.admin import AdminSettings
from authkeeper.plugins.jwt import JwtSettings
from tests.conftest import ORIGIN, SECRET, TestApp

from .helpers import (
    PASSWORD,
    bearer,
    claims_of,
    freeze,
    get_token,
    header_of,
    jwks,
    kids,
    session_token,
    verify_with_jwks,
)

pytestmark = pytest.mark.anyio

ON = JwtSettings(enabled=True)
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def no_store(r: Any) -> bool:
    return "no-store" in ", ".join(r.headers.get_list("cache-control"))


# -- /token -------------------------------------------------------------------------------
async def test_token_needs_a_session_by_cookie_or_bearer(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=ON)
    signed = await session_token(app)
    by_cookie = await app.get("/token")
    assert by_cookie.status_code == 200 and set(by_cookie.json()) == {"token"}
    # A token is a credential: never cached anywhere.
    assert no_store(by_cookie) and "public" not in by_cookie.headers["cache-control"]
    fresh = app.new_client()
    r = await fresh.get(app.api("/token"), headers=bearer(signed))
    assert r.status_code == 200, r.text
    bare = (await app.get("/get-session")).json()["session"]["token"]
    r = await fresh.get(app.api("/token"), headers=bearer(bare))
    assert r.status_code == 200, r.text
    assert claims_of(r.json()["token"])["sub"] == claims_of(by_cookie.json()["token"])["sub"]
    r = await fresh.get(app.api("/token"))
    assert (r.status_code, r.json()["code"]) == (401, "UNAUTHORIZED")
    assert no_store(r)
    r = await fresh.get(app.api("/token"), headers=bearer("not-a-session"))
    assert r.status_code == 401
    await fresh.aclose()


async def test_token_after_sign_out_is_refused(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=ON)
    signed = await session_token(app)
    assert (await app.post("/sign-out")).status_code == 200
    r = await app.get("/token", headers=bearer(signed))
    assert r.status_code == 401


# -- /jwks --------------------------------------------------------------------------------
async def test_jwks_shape_and_cache_control(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=ON)
    r = await app.get("/jwks")
    assert r.status_code == 200
    assert r.headers.get_list("cache-control") == ["public, max-age=300"]
    assert "pragma" not in r.headers
    body = r.json()
    assert set(body) == {"keys"} and len(body["keys"]) == 1
    (entry,) = body["keys"]
    assert set(entry) == {"kty", "crv", "x", "kid", "alg", "use"}, entry
    assert (entry["kty"], entry["crv"], entry["alg"], entry["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert entry["kid"] == (await kids(app))[0]
    assert not PRIVATE_MEMBERS & set(entry)
    # HEAD answers like GET, a query changes nothing.
    assert (await app.client.head(app.api("/jwks"))).status_code == 200
    r = await app.get("/jwks", params={"kid": entry["kid"], "x": "y" * 2000})
    assert r.status_code == 200 and r.json()["keys"] == [entry]


async def test_jwks_errors_are_still_no_store(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(
        jwt=ON, rate_limit=RateLimitSettings(enabled=True, rules={"/jwks": RateLimitRule(window=60, max=2)})
    )
    r = await app.get("/jwks?x=%00")
    assert r.status_code == 400 and no_store(r) and "public" not in r.headers["cache-control"]
    statuses = [(await app.get("/jwks")).status_code for _ in range(4)]
    assert statuses[-1] == 429, statuses
    r = await app.get("/jwks")
    assert r.status_code == 429 and no_store(r) and "max-age=300" not in r.headers["cache-control"]


async def test_configured_max_age_and_path(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=JwtSettings(enabled=True, jwks_max_age=120, jwks_path="/.well-known/jwks.json"))
    r = await app.get("/.well-known/jwks.json")
    assert r.status_code == 200 and r.headers["cache-control"] == "public, max-age=120"
    assert len(r.json()["keys"]) == 1
    assert (await app.get("/jwks")).status_code == 404


async def test_odd_methods_and_queries_are_4xx(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=ON)
    signed = await session_token(app)
    for method in ("POST", "PUT", "DELETE", "PATCH", "TRACE", "PROPFIND"):
        for path in ("/token", "/jwks"):
            r = await app.client.request(method, app.api(path), headers={"origin": ORIGIN, **bearer(signed)})
            assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text)
    for query in ("%00", "a=%ff%fe", "a=" + "%41" * 5000, "kid[]=1&kid[]=2", "\u00e9=\u00e9"):
        for path in ("/token", "/jwks"):
            r = await app.client.get(app.api(path) + "?" + query, headers=bearer(signed))
            assert r.status_code < 500, (path, query, r.status_code, r.text)
    for path in ("/jwks/", "/jwks/x", "/token/", "/jwks%00", "/JWKS"):
        r = await app.client.get(app.api(path), headers=bearer(signed))
        assert r.status_code < 500, (path, r.status_code)


# -- set-auth-jwt -------------------------------------------------------------------------
async def test_set_auth_jwt_on_get_session(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=ON)
    signed = await session_token(app)
    r = await app.get("/get-session", headers={"origin": ORIGIN})
    assert r.status_code == 200 and r.json()["user"]["email"] == "ann@example.com"
    token = r.headers["set-auth-jwt"]
    exposed = [h.strip() for h in r.headers["access-control-expose-headers"].split(",")]
    assert "set-auth-jwt" in exposed
    assert claims_of(token)["sub"] == r.json()["user"]["id"]
    assert verify_with_jwks(token, await jwks(app))["email"] == "ann@example.com"
    # An origin the app does not trust is given no CORS grant: its page cannot read the header.
    r = await app.get("/get-session", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    assert "access-control-allow-credentials" not in r.headers
    # By bearer too.
    fresh = app.new_client()
    r = await fresh.get(app.api("/get-session"), headers=bearer(signed))
    assert claims_of(r.headers["set-auth-jwt"])["sub"] == claims_of(token)["sub"]
    # Without a session: no header, and no key is needed for that.
    r = await fresh.get(app.api("/get-session"), headers={"origin": ORIGIN})
    assert r.json() is None
    assert "set-auth-jwt" not in r.headers
    assert "set-auth-jwt" not in r.headers.get("access-control-expose-headers", "")
    await fresh.aclose()


async def test_set_auth_jwt_is_exposed_beside_set_auth_token(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=ON)
    clock = freeze(app)
    await session_token(app)
    # A day on, get-session slides the session: set-auth-token is sent again, with the JWT.
    clock.advance(86400 + 60)
    r = await app.get("/get-session", headers={"origin": ORIGIN})
    assert r.status_code == 200 and r.json() is not None
    assert "set-auth-token" in r.headers and "set-auth-jwt" in r.headers
    exposed = [h.strip() for h in ", ".join(r.headers.get_list("access-control-expose-headers")).split(",")]
    assert sorted(exposed) == ["set-auth-jwt", "set-auth-token"], exposed
    assert len(r.headers.get_list("access-control-expose-headers")) == 1
    assert claims_of(r.headers["set-auth-jwt"])["iat"] == int(clock().timestamp())


async def test_header_can_be_turned_off(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=JwtSettings(enabled=True, set_header_on_get_session=False))
    await session_token(app)
    r = await app.get("/get-session", headers={"origin": ORIGIN})
    assert r.json() is not None and "set-auth-jwt" not in r.headers
    assert "set-auth-jwt" not in r.headers.get("access-control-expose-headers", "")
    assert (await app.get("/token")).status_code == 200


async def test_no_plugin_no_endpoints(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app()
    await session_token(app)
    assert (await app.get("/token")).status_code == 404
    assert (await app.get("/jwks")).status_code == 404
    assert "set-auth-jwt" not in (await app.get("/get-session")).headers


# -- claims -------------------------------------------------------------------------------
async def test_claims_as_specified(make_app: Callable[..., Any]) -> None:
    hidden = AdditionalField(name="internalNote", returned=False, input=False)
    shown = AdditionalField(name="nickname")
    app: TestApp = await make_app(
        jwt=JwtSettings(enabled=True, expires_in=600),
        user=UserSettings(additional_fields=(hidden, shown)),
    )
    clock = freeze(app)
    await app.sign_up("ann@example.com", PASSWORD, "Ann", nickname="annie")
    user = await app.auth.store.find_user_by_email("ann@example.com")
    assert user is not None
    await app.auth.store.update_user(user.id, UserUpdate(fields={"internalNote": "secret note"}))
    token = await get_token(app)
    head = header_of(token)
    assert head == {"alg": "EdDSA", "kid": (await kids(app))[0], "typ": "JWT"}
    claims = verify_with_jwks(token, await jwks(app))
    assert claims["sub"] == claims["id"] == user.id
    assert claims["iss"] == claims["aud"] == ORIGIN
    assert claims["iat"] == int(clock().timestamp())
    assert claims["exp"] - claims["iat"] == 600
    assert (claims["email"], claims["name"], claims["emailVerified"]) == ("ann@example.com", "Ann", False)
    assert claims["nickname"] == "annie"
    assert "internalNote" not in claims and "secret note" not in str(claims)
    assert claims["role"] == "user"
    assert "password" not in str(claims).lower()


async def test_configured_issuer_audience_and_extra_claims(make_app: Callable[..., Any]) -> None:
    cfg = JwtSettings(
        enabled=True,
        issuer="https://issuer.example",
        audience="api://orders",
        extra_claims={"tenant": "acme", "scopes": ["read", "write"], "tier": 3},
    )
    app: TestApp = await make_app(jwt=cfg)
    await session_token(app)
    token = await get_token(app)
    claims = verify_with_jwks(token, await jwks(app), audience="api://orders")
    assert (claims["iss"], claims["aud"]) == ("https://issuer.example", "api://orders")
    assert (claims["tenant"], claims["scopes"], claims["tier"]) == ("acme", ["read", "write"], 3)
    with pytest.raises(pyjwt.InvalidAudienceError):
        verify_with_jwks(token, await jwks(app), audience=ORIGIN)


async def test_role_claim_is_the_effective_roles(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=ON, admin=AdminSettings(admin_emails=("boss@example.com",)))
    await session_token(app, "boss@example.com", "Boss")
    # Anyone may sign up with a listed address: unverified, it makes no admin.
    assert claims_of(await get_token(app))["role"] == "user"
    user = await app.auth.store.find_user_by_email("boss@example.com")
    assert user is not None
    await app.auth.store.update_user(user.id, UserUpdate(email_verified=True))
    assert claims_of(await get_token(app))["role"] == "user,admin"
    await app.auth.store.update_user(user.id, UserUpdate(fields={"role": "moderator"}))
    assert claims_of(await get_token(app))["role"] == "moderator,admin"


async def test_without_admin_plugin_no_role_claim(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=ON, admin=AdminSettings(enabled=False))
    await session_token(app)
    assert "role" not in claims_of(await get_token(app))


# -- settings -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("section", "named"),
    [
        (JwtSettings(enabled=True, algorithm="HS256"), "jwt.algorithm"),
        (JwtSettings(enabled=True, algorithm="none"), "jwt.algorithm"),
        (JwtSettings(enabled=True, extra_claims={"sub": "admin"}), "jwt.extra_claims"),
        (JwtSettings(enabled=True, extra_claims={"exp": 9999999999, "iss": "x"}), "jwt.extra_claims"),
        (JwtSettings(enabled=True, extra_claims={"nbf": 0}), "jwt.extra_claims"),
        (JwtSettings(enabled=True, extra_claims={"x": float("nan")}), "jwt.extra_claims"),
        (JwtSettings(enabled=True, expires_in=0), "jwt.expires_in"),
        (JwtSettings(enabled=True, jwks_max_age=-1), "jwt.jwks_max_age"),
        (JwtSettings(enabled=True, rotation_interval=600), "jwt.rotation_interval"),
        (JwtSettings(enabled=True, grace_period=-5), "jwt.grace_period"),
        (JwtSettings(enabled=True, jwks_path="/../get-session"), "jwt.jwks_path"),
        (JwtSettings(enabled=True, issuer="  "), "jwt.issuer"),
    ],
)
def test_bad_settings_are_refused_naming_the_setting(section: JwtSettings, named: str) -> None:
    settings = Settings(secret=SECRET, base_url=ORIGIN, sections={"jwt": section})
    assert any(p.startswith(named) for p in settings.problems()), settings.problems()
    with pytest.raises(ValueError, match=named.replace(".", r"\.")):
        Authkeeper(settings)


async def test_role_in_extra_claims_cannot_outrank_the_policy(make_app: Callable[..., Any]) -> None:
    """tokens.py's docstring puts ``role`` (the effective roles) after ``extra_claims`` and the
    caller's claims: a configured ``role`` must not hand every token holder "admin"."""
    cfg = JwtSettings(enabled=True, extra_claims={"role": "admin", "team": "x"})
    settings = Settings(secret=SECRET, base_url=ORIGIN, sections={"jwt": cfg})
    if any(p.startswith("jwt.extra_claims") for p in settings.problems()):
        return  # refused outright: as good
    app: TestApp = await make_app(jwt=cfg)
    await session_token(app)
    claims = claims_of(await get_token(app))
    assert claims["team"] == "x"
    assert claims["role"] == "user", claims["role"]
