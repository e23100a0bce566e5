"""Who gets no token: a sign-in still waiting for its second factor, a banned user, and a
session an admin holds as the user (unless ``allow_impersonation``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from authkeeper.core.changes import UserUpdate
from authkeeper.core.errors import AuthError
from authkeeper.plugins.jwt import JwtSettings
from tests.conftest import ORIGIN, TestApp
from tests.plugins.admin.helpers import World
from tests.plugins.two_factor import helpers as tf

from .helpers import PASSWORD, bearer, claims_of, freeze, kids, service, session_token

pytestmark = pytest.mark.anyio

ON = JwtSettings(enabled=True)


async def test_no_token_before_the_second_factor(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=ON)
    clock = tf.freeze(app)
    enrolled = await tf.enroll(app, clock)
    browser = await tf.challenged(app)
    try:
        assert tf.COOKIE_2FA in browser.cookies and tf.COOKIE_SESSION not in browser.cookies
        r = await browser.get(app.api("/token"))
        assert (r.status_code, r.json()["code"]) == (401, "UNAUTHORIZED")
        r = await browser.get(app.api("/get-session"))
        assert r.json() is None and "set-auth-jwt" not in r.headers
        # The challenge cookie's value as a bearer is no session either.
        r = await browser.get(app.api("/token"), headers=bearer(browser.cookies[tf.COOKIE_2FA]))
        assert r.status_code == 401
        # With the second factor: a token.
        r = await tf.post(browser, app, "/two-factor/verify-totp", {"code": tf.code_now(app, enrolled.key)})
        assert r.status_code == 200, r.text
        r = await browser.get(app.api("/token"))
        assert r.status_code == 200 and claims_of(r.json()["token"])["twoFactorEnabled"] is True
    finally:
        await browser.aclose()


async def test_no_token_for_a_banned_user(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=ON)
    freeze(app)
    signed = await session_token(app)
    user = await app.auth.store.find_user_by_email("ann@example.com")
    assert user is not None
    found = await app.auth.store.find_session((await app.get("/get-session")).json()["session"]["token"])
    assert found is not None
    session, _ = found
    # Banned behind the API's back (the session rows are left): every path refuses.
    await app.auth.store.update_user(user.id, UserUpdate(fields={"banned": True, "banReason": "spam"}))
    banned = await app.auth.store.find_user_by_id(user.id)
    assert banned is not None
    with pytest.raises(AuthError):
        await service(app).issue(app.ctx, banned, session)
    fresh = app.new_client()
    try:
        r = await fresh.get(app.api("/token"), headers=bearer(signed))
        assert r.status_code == 401
        r = await fresh.get(app.api("/get-session"), headers=bearer(signed))
        assert r.json() is None and "set-auth-jwt" not in r.headers
        r = await tf.post(fresh, app, "/sign-in/email", {"email": "ann@example.com", "password": PASSWORD})
        assert r.status_code == 403 and "set-auth-token" not in r.headers
        assert (await fresh.get(app.api("/token"))).status_code == 401
    finally:
        await fresh.aclose()


async def test_no_token_from_an_impersonation(make_world: Callable[..., Any]) -> None:
    world: World = await make_world(jwt=ON)
    r = await world.admin.post("/admin/impersonate-user", {"userId": world.plain_user.id})
    assert r.status_code == 200, r.text
    held = r.headers["set-auth-token"]
    r = await world.admin.get("/token")
    assert (r.status_code, r.json()["code"]) == (403, "IMPERSONATION_TOKEN_REFUSED"), r.text
    # By bearer too, from another client.
    other = world.anonymous()
    r = await other.get("/token", headers=bearer(held))
    assert (r.status_code, r.json()["code"]) == (403, "IMPERSONATION_TOKEN_REFUSED")
    # get-session answers as the user, without a token.
    r = await world.admin.get("/get-session", headers={"origin": ORIGIN})
    assert r.json()["session"]["impersonatedBy"] == world.admin_user.id
    assert "set-auth-jwt" not in r.headers
    assert "set-auth-jwt" not in r.headers.get("access-control-expose-headers", "")
    # Nor through the service, for another plugin asking.
    found = await world.ctx.store.find_session(r.json()["session"]["token"])
    assert found is not None
    with pytest.raises(AuthError) as refused:
        await service(world.app).issue(world.ctx, found[1], found[0])
    assert refused.value.code == "IMPERSONATION_TOKEN_REFUSED"
    # Back as the admin: tokens again, the admin's own.
    assert (await world.admin.post("/admin/stop-impersonating")).status_code == 200
    r = await world.admin.get("/token")
    assert r.status_code == 200 and claims_of(r.json()["token"])["sub"] == world.admin_user.id


async def test_impersonation_tokens_when_allowed(make_world: Callable[..., Any]) -> None:
    world: World = await make_world(jwt=JwtSettings(enabled=True, allow_impersonation=True))
    r = await world.admin.post("/admin/impersonate-user", {"userId": world.plain_user.id})
    assert r.status_code == 200, r.text
    r = await world.admin.get("/token")
    assert r.status_code == 200 and claims_of(r.json()["token"])["sub"] == world.plain_user.id
    r = await world.admin.get("/get-session")
    assert claims_of(r.headers["set-auth-jwt"])["sub"] == world.plain_user.id


async def test_refusals_make_no_key(make_app: Callable[..., Any]) -> None:
    """Nobody signed in: asking for tokens makes no key (only /jwks and a real token do)."""
    app: TestApp = await make_app(jwt=ON)
    anon = app.new_client()
    try:
        for _ in range(3):
            assert (await anon.get(app.api("/token"))).status_code == 401
            assert (await anon.get(app.api("/get-session"))).json() is None
        assert await kids(app) == []
    finally:
        await anon.aclose()
