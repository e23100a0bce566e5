"""Sessions over HTTP: sliding refresh, remember-me, listing with handles, revocation,
sign-out, bearer tokens and cookie signatures (spec §2, §3, §7.8, §8.4)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote, unquote

import pytest

from authkeeper.core.models import iso
from authkeeper.core.settings import SessionSettings
from tests.conftest import SECRET, TestApp
from tests.flows._helpers import Browser, Clock, error_of, is_deletion, set_cookie

pytestmark = pytest.mark.anyio

COOKIE = "better-auth.session_token"


def signed(value: str, secret: str = SECRET) -> str:
    mac = base64.b64encode(hmac.new(secret.encode(), value.encode(), hashlib.sha256).digest()).decode()
    return quote(f"{value}.{mac}", safe="-_.!~*'()")


async def clocked_app(make_app: Callable[..., Any], clock: Clock, **overrides: Any) -> TestApp:
    app: TestApp = await make_app(**overrides)
    app.ctx.clock = clock
    return app


def _s(seconds: int) -> timedelta:
    return timedelta(seconds=seconds)


def with_cookie(browser: Callable[..., Browser], app: TestApp, value: str) -> Browser:
    b = browser(app)
    b.http.cookies.set(COOKIE, value)
    return b


# -- expiry and sliding refresh -----------------------------------------------------------
async def test_get_session_slides_the_expiry_once_per_update_age(
    db_url: str, make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    clock = Clock()
    t0 = clock.now
    app = await clocked_app(make_app, clock, db_url=db_url, session=SessionSettings(expires_in=1000, update_age=100))
    ann = browser(app)
    await ann.sign_up()
    token = (await ann.sign_in()).json()["token"]
    assert ann.session_cookie is not None
    cookie_before = ann.session_cookie

    clock.advance(50)
    r = await ann.get("/get-session")
    assert r.json()["session"]["expiresAt"] == iso(t0 + _s(1000))
    assert set_cookie(r, COOKIE) is None and "set-auth-token" not in r.headers

    clock.advance(100)  # t0 + 150: the last refresh (sign-in) is update_age old
    r = await ann.get("/get-session")
    assert r.json()["session"]["expiresAt"] == iso(t0 + _s(1150))
    assert r.json()["session"]["updatedAt"] == iso(t0 + _s(150))
    line = set_cookie(r, COOKIE)
    assert line is not None and "Max-Age=1000" in line
    assert ann.session_cookie == cookie_before  # same token, same signature
    assert r.headers["set-auth-token"].split(".")[0] == token
    found = await app.auth.store.find_session(token)
    assert found is not None and found[0].expires_at == t0 + _s(1150)

    clock.advance(50)  # 50 s after the refresh: no write
    r = await ann.get("/get-session")
    assert r.json()["session"]["expiresAt"] == iso(t0 + _s(1150))
    assert set_cookie(r, COOKIE) is None

    clock.advance(200)  # due again, but the caller asks not to refresh
    r = await ann.get("/get-session", params={"disableRefresh": "true"})
    assert r.json()["session"]["expiresAt"] == iso(t0 + _s(1150))

    clock.now = t0 + _s(1150)  # the moment it expires
    r = await ann.get("/get-session")
    assert r.status_code == 200 and r.json() is None
    assert is_deletion(set_cookie(r, COOKIE))
    assert await app.auth.store.find_session(token) is None  # removed on sight


async def test_an_expired_session_is_null_everywhere(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    clock = Clock()
    app = await clocked_app(make_app, clock)
    ann = browser(app)
    await ann.sign_up()
    token = (await ann.sign_in()).json()["token"]
    clock.advance(604800 + 1)
    assert await ann.session() is None
    r = await browser(app).get("/get-session", headers={"authorization": f"Bearer {token}"})
    assert r.json() is None
    ann2 = browser(app)
    ann2.http.cookies.set(COOKIE, signed(token))
    r = await ann2.get("/list-sessions")
    error_of(r, 401, "UNAUTHORIZED")
    assert is_deletion(set_cookie(r, COOKIE))  # a dead cookie is cleared on a 401 too


async def test_remember_me_false_gives_a_browser_session_cookie_and_the_short_expiry(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    clock = Clock()
    t0 = clock.now
    app = await clocked_app(
        make_app, clock, session=SessionSettings(expires_in=1000, update_age=100, dont_remember_expires_in=500)
    )
    await app.sign_up()
    ann = browser(app)
    r = await ann.sign_in(rememberMe=False)
    line = set_cookie(r, COOKIE)
    assert line is not None and "Max-Age" not in line
    dont = set_cookie(r, "better-auth.dont_remember")
    assert dont is not None and "Max-Age" not in dont
    assert dont.split(";")[0] == "better-auth.dont_remember=" + signed("true")
    session = await ann.session()
    assert session is not None and session["session"]["expiresAt"] == iso(t0 + _s(500))
    clock.advance(450)  # refresh would be due, but a browser session never slides
    r = await ann.get("/get-session")
    assert r.json()["session"]["expiresAt"] == iso(t0 + _s(500))
    assert set_cookie(r, COOKIE) is None
    # Signing in again with rememberMe (the default) drops the dont_remember cookie.
    other = browser(app)
    await other.sign_in(rememberMe=False)
    r = await other.sign_in()
    assert is_deletion(set_cookie(r, "better-auth.dont_remember"))
    line = set_cookie(r, COOKIE)
    assert line is not None and "Max-Age=1000" in line
    clock.advance(51)
    r = await ann.get("/get-session")
    assert r.json() is None
    assert is_deletion(set_cookie(r, "better-auth.dont_remember"))


# -- listing ------------------------------------------------------------------------------
async def test_list_sessions_shows_the_own_token_and_handles_for_the_others(
    db_url: str, make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await make_app(db_url=db_url)
    laptop, phone, tablet = browser(app), browser(app), browser(app)
    await laptop.sign_up()
    tokens = {"phone": (await phone.sign_in()).json()["token"], "tablet": (await tablet.sign_in()).json()["token"]}
    bob = browser(app)
    await bob.sign_up("bob@example.com", name="Bob")
    own = (await laptop.session() or {})["session"]["token"]

    r = await laptop.get("/list-sessions")
    assert r.status_code == 200, r.text
    listed = r.json()
    assert len(listed) == 3
    assert {s["userId"] for s in listed} == {(await laptop.session() or {})["user"]["id"]}
    current = [s for s in listed if s["token"] == own]
    others = [s for s in listed if s["token"] != own]
    assert len(current) == 1 and len(others) == 2
    for s in others:
        assert s["token"] == "sid_" + s["id"]
        assert s["token"] not in tokens.values()
        assert set(s) >= {"id", "token", "userId", "expiresAt", "createdAt", "updatedAt", "ipAddress", "userAgent"}
    assert not any(t in r.text for t in tokens.values())  # no other token anywhere in the answer

    # A handle authenticates nothing: not as a bearer token, not as a (validly signed) cookie.
    for s in others:
        handle = s["token"]
        stranger = browser(app)
        assert (await stranger.get("/get-session", headers={"authorization": f"Bearer {handle}"})).json() is None
        assert (
            await stranger.get("/get-session", headers={"authorization": f"Bearer {signed(handle)}"})
        ).json() is None
        error_of(
            await stranger.get("/list-sessions", headers={"authorization": f"Bearer {signed(handle)}"}),
            401,
            "UNAUTHORIZED",
        )
        assert await with_cookie(browser, app, signed(handle)).session() is None
        assert await with_cookie(browser, app, signed(s["id"])).session() is None  # nor the bare id


async def test_list_sessions_needs_a_fresh_session(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    clock = Clock()
    app = await clocked_app(make_app, clock)
    ann = browser(app)
    await ann.sign_up()
    assert (await ann.get("/list-sessions")).status_code == 200
    clock.advance(86400)
    error_of(await ann.get("/list-sessions"), 403, "SESSION_NOT_FRESH")
    assert await ann.session() is not None  # still signed in, only not fresh
    await ann.sign_in()
    assert (await ann.get("/list-sessions")).status_code == 200


# -- revoking -----------------------------------------------------------------------------
async def test_revoke_session_by_handle_and_by_token(
    db_url: str, make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await make_app(db_url=db_url)
    laptop, phone, tablet = browser(app), browser(app), browser(app)
    await laptop.sign_up()
    await phone.sign_in()
    tablet_token = (await tablet.sign_in()).json()["token"]
    phone_id = (await phone.session() or {})["session"]["id"]

    r = await laptop.post("/revoke-session", {"token": "sid_" + phone_id})
    assert r.status_code == 200 and r.json() == {"status": True}
    assert set_cookie(r, COOKIE) is None  # not the caller's session: its cookies stay
    assert await phone.session() is None
    assert await tablet.session() is not None

    r = await laptop.post("/revoke-session", {"token": tablet_token})
    assert r.json() == {"status": True}
    assert await tablet.session() is None
    listed = (await laptop.get("/list-sessions")).json()
    assert len(listed) == 1 and await laptop.session() is not None

    # Revoking one's own current session ends it and clears the cookies.
    own = (await laptop.session() or {})["session"]["token"]
    r = await laptop.post("/revoke-session", {"token": own})
    assert r.json() == {"status": True}
    assert is_deletion(set_cookie(r, COOKIE))
    assert await laptop.session() is None
    assert await app.auth.store.find_session(own) is None


async def test_revoke_session_cannot_touch_another_users_sessions(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await make_app()
    ann, bob = browser(app), browser(app)
    await ann.sign_up()
    bob_token = (await bob.sign_up("bob@example.com", name="Bob")).json()["token"]
    bob_id = (await bob.session() or {})["session"]["id"]
    for value in (bob_token, "sid_" + bob_id, "sid_", "unknown-token"):
        r = await ann.post("/revoke-session", {"token": value})
        assert r.status_code == 200 and r.json() == {"status": True}  # the same answer either way
    assert await bob.session() is not None
    assert await ann.session() is not None
    error_of(await browser(app).post("/revoke-session", {"token": bob_token}), 401, "UNAUTHORIZED")


async def test_revoke_other_sessions_keeps_only_the_current_one(
    db_url: str, make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await make_app(db_url=db_url)
    laptop, phone, tablet, bob = browser(app), browser(app), browser(app), browser(app)
    await laptop.sign_up()
    await phone.sign_in()
    await tablet.sign_in()
    await bob.sign_up("bob@example.com", name="Bob")
    r = await laptop.post("/revoke-other-sessions")
    assert r.status_code == 200 and r.json() == {"status": True}
    assert set_cookie(r, COOKIE) is None
    assert await phone.session() is None and await tablet.session() is None
    assert await laptop.session() is not None and await bob.session() is not None
    assert len((await laptop.get("/list-sessions")).json()) == 1


async def test_revoke_sessions_ends_every_session_including_the_current(
    db_url: str, make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await make_app(db_url=db_url)
    laptop, phone, bob = browser(app), browser(app), browser(app)
    await laptop.sign_up()
    await phone.sign_in()
    await bob.sign_up("bob@example.com", name="Bob")
    r = await laptop.post("/revoke-sessions")
    assert r.status_code == 200 and r.json() == {"status": True}
    assert is_deletion(set_cookie(r, COOKIE))
    assert await laptop.session() is None and await phone.session() is None
    assert await bob.session() is not None


async def test_update_session_has_nothing_to_update(app: TestApp, browser: Callable[..., Browser]) -> None:
    ann = browser(app)
    await ann.sign_up()
    for body in ({}, {"foo": "bar"}, {"expiresAt": "2100-01-01T00:00:00.000Z"}):
        r = await ann.post("/update-session", body)
        assert r.status_code == 400, r.text
        assert r.json()["message"] == "No fields to update"
    r = await ann.http.post(app.api("/update-session"), content=b"[1]", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] in ("BODY_MUST_BE_AN_OBJECT", "VALIDATION_ERROR"), r.text
    error_of(await browser(app).post("/update-session", {}), 401, "UNAUTHORIZED")


# -- sign-out -----------------------------------------------------------------------------
async def test_sign_out_clears_the_cookies_and_kills_the_session(
    db_url: str, make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await make_app(db_url=db_url)
    ann = browser(app)
    await ann.sign_up()
    r = await ann.sign_in(rememberMe=False)
    token = r.json()["token"]
    stolen = ann.session_cookie
    assert stolen is not None
    r = await ann.post("/sign-out")
    assert r.status_code == 200 and r.json() == {"success": True}
    for name in (COOKIE, "better-auth.session_data", "better-auth.dont_remember"):
        assert is_deletion(set_cookie(r, name)), name
    assert ann.session_cookie is None
    assert await app.auth.store.find_session(token) is None
    # The old cookie, replayed, is refused: the session is gone server-side.
    replay = with_cookie(browser, app, stolen)
    assert await replay.session() is None
    error_of(await replay.post("/update-user", {"name": "Mallory"}), 401, "UNAUTHORIZED")
    assert (await browser(app).get("/get-session", headers={"authorization": f"Bearer {token}"})).json() is None
    # Signing out without a session still answers success.
    r = await browser(app).post("/sign-out")
    assert r.status_code == 200 and r.json() == {"success": True}


# -- bearer tokens and signatures ---------------------------------------------------------
async def test_sign_in_returns_set_auth_token_and_the_bearer_token_works(
    app: TestApp, browser: Callable[..., Browser]
) -> None:
    await app.sign_up()
    r = await browser(app).sign_in()
    token = r.json()["token"]
    header = r.headers["set-auth-token"]
    assert header == unquote(signed(token))  # the signed value, not URL-encoded
    assert "set-auth-token" in r.headers["access-control-expose-headers"].lower()
    api = browser(app)  # no cookies at all
    for value in (header, token):
        s = await api.get("/get-session", headers={"authorization": f"Bearer {value}"})
        assert s.json()["session"]["token"] == token
        assert s.json()["user"]["email"] == "ann@example.com"
    r = await api.post("/update-user", {"name": "Ann B."}, headers={"authorization": f"Bearer {header}"})
    assert r.status_code == 200, r.text
    assert (await app.auth.store.find_user_by_email("ann@example.com")).name == "Ann B."  # type: ignore[union-attr]


async def test_a_tampered_cookie_is_no_session(app: TestApp, browser: Callable[..., Browser]) -> None:
    await app.sign_up()
    token = (await browser(app).sign_in()).json()["token"]
    good = signed(token)
    value, _, sig = good.rpartition(".")
    flipped = sig[:5] + ("A" if sig[5] != "A" else "B") + sig[6:]
    other_token = ("b" if token[0] != "b" else "c") + token[1:]
    cases = [
        f"{value}.{flipped}",  # signature changed
        signed(token, "another secret that is long enough!!"),  # signed with another secret
        f"{other_token}.{good.rpartition('.')[2]}",  # token changed, signature kept
        token,  # not signed at all
        f"{token}.",  # empty signature
        f"{token}.{sig[:-3]}",  # truncated signature
    ]
    assert await with_cookie(browser, app, good).session() is not None  # the control case
    for bad in cases:
        b = with_cookie(browser, app, bad)
        assert await b.session() is None, bad
        error_of(await b.get("/list-sessions"), 401, "UNAUTHORIZED")


@pytest.mark.parametrize("signature", ["%C3%A9" + "A" * 42 + "=", "%FF" * 14 + "AA="])
async def test_a_cookie_whose_signature_decodes_to_non_ascii_is_no_session(
    app: TestApp, browser: Callable[..., Browser], signature: str
) -> None:
    """Percent-decoding a cookie can give any character; it must read as a bad signature, not a 500."""
    await app.sign_up()
    token = (await browser(app).sign_in()).json()["token"]
    b = with_cookie(browser, app, f"{token}.{signature}")
    assert await b.session() is None
    r = await b.get("/list-sessions")
    assert r.status_code == 401, r.text
