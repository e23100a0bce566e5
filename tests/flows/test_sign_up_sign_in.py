"""Sign-up and sign-in over HTTP, in process."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import TestApp

pytestmark = pytest.mark.anyio


async def test_sign_up_returns_token_user_and_cookie(app: TestApp) -> None:
    r = await app.sign_up("Ann@Example.COM ")
    body = r.json()
    assert body["user"]["email"] == "ann@example.com"
    assert body["user"]["emailVerified"] is False
    assert body["user"]["createdAt"].endswith("Z")
    assert len(body["token"]) == 32
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("better-auth.session_token=" + body["token"] + ".")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=604800" in cookie
    assert r.headers["cache-control"] == "no-store"


async def test_duplicate_sign_up_is_422(app: TestApp) -> None:
    await app.sign_up()
    r = await app.post("/sign-up/email", {"email": "ANN@example.com", "password": "another passphrase", "name": "A"})
    assert r.status_code == 422
    assert r.json()["code"] == "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"


async def test_concurrent_sign_ups_create_one_user(db_url: str, make_app) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(db_url=db_url)
    body = {"email": "race@example.com", "password": "a fine passphrase", "name": "R"}
    results = await asyncio.gather(*[app.post("/sign-up/email", body) for _ in range(20)])
    codes = sorted(r.status_code for r in results)
    assert codes.count(200) == 1, codes
    assert all(r.json()["code"] == "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL" for r in results if r.status_code != 200)
    assert await app.auth.store.count_users() == 1


async def test_password_rules(app: TestApp) -> None:
    cases = {
        "short": "PASSWORD_TOO_SHORT",
        "x" * 129: "PASSWORD_TOO_LONG",
        "password123": "PASSWORD_TOO_COMMON",
        "qwertyuiop": "PASSWORD_TOO_COMMON",
        "bob@example.com": "PASSWORD_SAME_AS_EMAIL",
    }
    for password, code in cases.items():
        r = await app.post("/sign-up/email", {"email": "bob@example.com", "password": password, "name": "Bob"})
        assert (r.status_code, r.json()["code"]) == (400, code), password
    assert await app.auth.store.count_users() == 0


async def test_sign_in_and_get_session(app: TestApp) -> None:
    await app.sign_up()
    client = app.new_client()
    r = await client.post(app.api("/sign-in/email"), json={"email": "ANN@example.com", "password": "a fine passphrase"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["redirect"] is False and "url" not in body and len(body["token"]) == 32
    s = await client.get(app.api("/get-session"))
    data = s.json()
    assert data["user"]["email"] == "ann@example.com"
    assert data["session"]["token"] == body["token"]
    assert data["session"]["expiresAt"].endswith("Z")
    await client.aclose()


async def test_wrong_password_and_unknown_email_look_the_same(app: TestApp) -> None:
    await app.sign_up()
    a = await app.sign_in(password="wrong password!")
    b = await app.sign_in(email="nobody@example.com")
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json() == {"message": "Invalid email or password", "code": "INVALID_EMAIL_OR_PASSWORD"}


async def test_remember_me_false_makes_a_browser_session_cookie(app: TestApp) -> None:
    await app.sign_up()
    r = await app.sign_in(rememberMe=False)
    cookies = r.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("better-auth.session_token="))
    assert "Max-Age" not in session_cookie
    assert any(c.startswith("better-auth.dont_remember=true.") for c in cookies)


async def test_callback_url_sets_redirect(app: TestApp) -> None:
    await app.sign_up()
    r = await app.sign_in(callbackURL="/dashboard")
    assert r.json()["redirect"] is True and r.json()["url"] == "/dashboard"
    assert r.headers["location"] == "/dashboard"


async def test_form_sign_up_and_sign_in(app: TestApp) -> None:
    r = await app.client.post(
        app.api("/sign-up/email"),
        data={"email": "form@example.com", "password": "a fine passphrase", "name": "Form", "rememberMe": "false"},
    )
    assert r.status_code == 200, r.text
    r = await app.client.post(
        app.api("/sign-in/email"),
        data={"email": "form@example.com", "password": "a fine passphrase"},
        headers={"origin": "http://testserver"},
    )
    assert r.status_code == 200, r.text


async def test_disable_sign_up(make_app) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from authkeeper.core.settings import EmailPasswordSettings

    app = await make_app(email_password=dataclasses.replace(EmailPasswordSettings(), disable_sign_up=True))
    r = await app.post("/sign-up/email", {"email": "x@example.com", "password": "a fine passphrase", "name": "X"})
    assert (r.status_code, r.json()["code"]) == (400, "EMAIL_PASSWORD_SIGN_UP_DISABLED")


async def test_sign_out_deletes_the_session(app: TestApp) -> None:
    await app.sign_up()
    r = await app.post("/sign-out")
    assert r.json() == {"success": True}
    assert any(c.startswith("better-auth.session_token=;") for c in r.headers.get_list("set-cookie"))
    assert (await app.get("/get-session")).json() is None


async def test_cookie_cache_is_written_when_enabled_and_never_trusted(make_app) -> None:  # type: ignore[no-untyped-def]
    import base64
    import dataclasses
    import hashlib
    import hmac
    import json

    from authkeeper.core.settings import SessionSettings
    from tests.conftest import SECRET

    app = await make_app(session=dataclasses.replace(SessionSettings(), cookie_cache_enabled=True))
    await app.sign_up()
    r = await app.get("/get-session")
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("better-auth.session_data="))
    raw = cookie.split(";")[0].split("=", 1)[1]
    data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    assert data["session"]["user"]["email"] == "ann@example.com"
    signed = json.dumps({**data["session"], "expiresAt": data["expiresAt"]}, separators=(",", ":"))
    mac = base64.urlsafe_b64encode(hmac.new(SECRET.encode(), signed.encode(), hashlib.sha256).digest()).rstrip(b"=")
    assert mac.decode() == data["signature"]
    # Revoke the session: the cached cookie still sits in the jar, but get-session says null.
    await app.post("/revoke-sessions")
    app.client.cookies.set("better-auth.session_data", raw)
    assert (await app.get("/get-session")).json() is None
