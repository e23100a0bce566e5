"""Enrolment, the sign-in challenge and TOTP verification over HTTP."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from authkeeper.core.crypto import symmetric
from authkeeper.core.settings import RateLimitSettings
from authkeeper.plugins.two_factor import TwoFactorSettings
from authkeeper.plugins.two_factor.store import plugin_store
from tests.conftest import TestApp

from .helpers import (
    COOKIE_2FA,
    COOKIE_SESSION,
    EMAIL,
    PASSWORD,
    audit_events,
    challenged,
    code_now,
    cookie_value,
    enroll,
    freeze,
    key_from_uri,
    post,
    set_cookies,
    user_id,
    wrong_code,
)

pytestmark = pytest.mark.anyio


async def an_admin(app: TestApp) -> str:
    """A real admin's id: an impersonation session lives only while its impersonator may
    impersonate (the admin plugin's session check)."""
    from authkeeper.flows.sign_up import create_user

    admin = await create_user(
        app.ctx, name="Admin", email="admin@example.com", password=PASSWORD, extra={"role": "admin"}
    )
    return admin.id


async def test_enable_returns_uri_and_codes_but_waits_for_a_code(app: TestApp) -> None:
    freeze(app)
    await app.sign_up(EMAIL, PASSWORD)
    r = await app.post("/two-factor/enable", {"password": "wrong password!"})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_PASSWORD")
    r = await app.post("/two-factor/enable", {"password": PASSWORD, "issuer": "Acme Corp"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["method"] == "totp" and len(body["backupCodes"]) == 10
    assert body["totpURI"].startswith("otpauth://totp/Acme%20Corp:ann%40example.com?secret=")
    assert body["totpURI"].endswith("&issuer=Acme+Corp&digits=6&period=30")
    key = key_from_uri(body["totpURI"])
    assert len(key) == 32
    uid = await user_id(app)
    record = await plugin_store(app.auth.store).get_two_factor(uid)
    assert record is not None
    assert record.verified is False
    # Encrypted at rest in Better Auth's format: the secret's bytes are the HMAC key.
    assert symmetric.decrypt(app.ctx.secrets, record.secret).encode() == key
    assert key.decode() not in record.secret
    user = await app.auth.store.find_user_by_id(uid)
    assert user is not None and not user.extra["twoFactorEnabled"]
    # Not active yet: signing in is not challenged.
    r = await app.sign_in()
    assert "token" in r.json()


async def test_activation_rotates_the_session(app: TestApp) -> None:
    freeze(app)
    first = await app.sign_up(EMAIL, PASSWORD)
    old_token = first.json()["token"]
    r = await app.post("/two-factor/enable", {"password": PASSWORD})
    key = key_from_uri(r.json()["totpURI"])
    r = await app.post("/two-factor/verify-totp", {"code": wrong_code(app, key)})
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_CODE")
    r = await app.post("/two-factor/verify-totp", {"code": code_now(app, key)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["twoFactorEnabled"] is True
    cookie = set_cookies(r)[COOKIE_SESSION]
    assert cookie_value(cookie).startswith(body["token"] + ".")
    assert body["token"] != old_token
    assert await app.auth.store.find_session(old_token) is None
    s = await app.get("/get-session")
    assert s.json()["session"]["token"] == body["token"]
    uid = await user_id(app)
    assert (await plugin_store(app.auth.store).get_two_factor(uid)).verified is True  # type: ignore[union-attr]
    events = [e for e in await audit_events(app, uid) if e.event == "two-factor-enabled"]
    assert len(events) == 1 and events[0].details == {"method": "totp"}
    # Enabling again is refused.
    r = await app.post("/two-factor/enable", {"password": PASSWORD})
    assert (r.status_code, r.json()["code"]) == (400, "TOTP_ALREADY_ENABLED")


async def test_sign_in_is_challenged_then_verified(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    uid = await user_id(app)
    sessions_before = len(await app.auth.store.list_sessions(uid, app.ctx.now()))
    client = app.new_client()
    r = await post(client, app, "/sign-in/email", {"email": EMAIL, "password": PASSWORD})
    assert r.status_code == 200
    # Emailed codes only for a user who enrolled them (stricter than Better Auth).
    assert r.json() == {"twoFactorRedirect": True, "twoFactorMethods": ["totp"]}
    cookies = set_cookies(r)
    assert "Max-Age=600" in cookies[COOKIE_2FA]
    challenge_id = app.ctx.signer.unsign(cookie_value(cookies[COOKIE_2FA]))
    assert challenge_id is not None and challenge_id.startswith("2fa-") and len(challenge_id) == 24
    assert "Max-Age=0" in cookies[COOKIE_SESSION]
    assert len(await app.auth.store.list_sessions(uid, app.ctx.now())) == sessions_before
    assert (await client.get(app.api("/get-session"))).json() is None
    row = await app.auth.store.find_verification(challenge_id, app.ctx.now())
    assert row is not None and row.value == uid
    attempts = await app.auth.store.find_verification("2fa-attempts-" + challenge_id, app.ctx.now())
    assert attempts is not None and attempts.value == "0"

    r = await post(client, app, "/two-factor/verify-totp", {"code": code_now(app, enrolled.key)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["email"] == EMAIL and len(body["token"]) == 32
    cookies = set_cookies(r)
    assert "Max-Age=0" in cookies[COOKIE_2FA]
    assert "Max-Age=604800" in cookies[COOKIE_SESSION]
    s = await client.get(app.api("/get-session"))
    assert s.json()["session"]["token"] == body["token"]
    assert await app.auth.store.find_verification(challenge_id, app.ctx.now()) is None
    sign_ins = [e for e in await audit_events(app, uid) if e.event == "sign-in"]
    assert sign_ins[0].details == {"method": "email", "second_factor": "totp"}
    await client.aclose()


async def test_each_code_works_once(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    code = code_now(app, enrolled.key)
    a = await challenged(app)
    assert (await post(a, app, "/two-factor/verify-totp", {"code": code})).status_code == 200
    b = await challenged(app)
    r = await post(b, app, "/two-factor/verify-totp", {"code": code})
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_CODE")
    # A code from an earlier step is refused too once a later one was used.
    clock.advance(30)
    r = await post(b, app, "/two-factor/verify-totp", {"code": code_now(app, enrolled.key)})
    assert r.status_code == 200, r.text
    await a.aclose()
    await b.aclose()


async def test_remember_me_false_survives_the_challenge(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    client = await challenged(app, rememberMe=False)
    r = await post(client, app, "/two-factor/verify-totp", {"code": code_now(app, enrolled.key)})
    assert r.status_code == 200, r.text
    cookies = set_cookies(r)
    assert "Max-Age" not in cookies[COOKIE_SESSION]
    assert "better-auth.dont_remember" in cookies
    session = await app.auth.store.find_session(r.json()["token"])
    assert session is not None
    assert session[0].expires_at - app.ctx.now() == timedelta(days=1)
    await client.aclose()


async def test_sixth_attempt_kills_the_challenge(db_url: str, make_app: Callable[..., Any]) -> None:
    app = await make_app(db_url=db_url)
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    client = await challenged(app)
    bad = wrong_code(app, enrolled.key)
    for _ in range(5):
        r = await post(client, app, "/two-factor/verify-totp", {"code": bad})
        assert (r.status_code, r.json()["code"]) == (401, "INVALID_CODE")
    r = await post(client, app, "/two-factor/verify-totp", {"code": code_now(app, enrolled.key)})
    assert (r.status_code, r.json()["code"]) == (400, "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE")
    assert "Max-Age=0" in set_cookies(r)[COOKIE_2FA]
    r = await post(client, app, "/two-factor/verify-totp", {"code": code_now(app, enrolled.key)})
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_TWO_FACTOR_COOKIE")
    await client.aclose()


async def test_concurrent_wrong_guesses_cannot_exceed_the_budget(db_url: str, make_app: Callable[..., Any]) -> None:
    app = await make_app(db_url=db_url)
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    client = await challenged(app)
    bad = wrong_code(app, enrolled.key)
    results = await asyncio.gather(*[post(client, app, "/two-factor/verify-totp", {"code": bad}) for _ in range(12)])
    codes = [r.json().get("code") for r in results]
    assert codes.count("INVALID_CODE") == 5, codes
    assert set(codes) <= {"INVALID_CODE", "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE", "INVALID_TWO_FACTOR_COOKIE"}
    await client.aclose()


async def test_challenge_expires(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    client = await challenged(app)
    clock.advance(601)
    r = await post(client, app, "/two-factor/verify-totp", {"code": code_now(app, enrolled.key)})
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_TWO_FACTOR_COOKIE")
    assert "Max-Age=0" in set_cookies(r)[COOKIE_2FA]
    await client.aclose()


async def test_no_session_and_no_cookie_is_refused(app: TestApp) -> None:
    r = await app.post("/two-factor/verify-totp", {"code": "123456"})
    assert r.status_code == 401
    assert r.json() == {"message": "Invalid two factor cookie", "code": "INVALID_TWO_FACTOR_COOKIE"}
    forged = app.new_client()
    bad_signature = base64.b64encode(bytes(32)).decode()  # well-formed, wrong
    r = await post(
        forged,
        app,
        "/two-factor/verify-totp",
        {"code": "123456"},
        headers={"cookie": f"{COOKIE_2FA}=2fa-aaaaaaaaaaaaaaaaaaaa.{bad_signature}"},
    )
    assert r.json()["code"] == "INVALID_TWO_FACTOR_COOKIE"
    await forged.aclose()


async def test_same_code_in_two_concurrent_challenges_gives_one_session(
    db_url: str, make_app: Callable[..., Any]
) -> None:
    app = await make_app(db_url=db_url)
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    uid = await user_id(app)
    before = len(await app.auth.store.list_sessions(uid, app.ctx.now()))
    clients = [await challenged(app) for _ in range(4)]
    code = code_now(app, enrolled.key)
    results = await asyncio.gather(*[post(c, app, "/two-factor/verify-totp", {"code": code}) for c in clients])
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 401, 401, 401], [r.text for r in results]
    assert len(await app.auth.store.list_sessions(uid, app.ctx.now())) == before + 1
    for c in clients:
        await c.aclose()


async def test_get_totp_uri_needs_the_password(app: TestApp) -> None:
    clock = freeze(app)
    r = await app.post("/two-factor/get-totp-uri", {"password": PASSWORD})
    assert r.status_code == 401
    await app.sign_up(EMAIL, PASSWORD)
    r = await app.post("/two-factor/get-totp-uri", {"password": PASSWORD})
    assert (r.status_code, r.json()["code"]) == (400, "TOTP_NOT_ENABLED")
    await app.client.post(app.api("/sign-out"), headers={"origin": "http://testserver"})
    app.client.cookies.clear()
    enrolled = await enroll(app, clock, email="bob@example.com")
    r = await app.post("/two-factor/get-totp-uri", {})
    assert (r.status_code, r.json()["code"]) == (400, "VALIDATION_ERROR")
    r = await app.post("/two-factor/get-totp-uri", {"password": "wrong password!"})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_PASSWORD")
    # Active now: the secret is never shown again, even with the password.
    r = await app.post("/two-factor/get-totp-uri", {"password": PASSWORD})
    assert (r.status_code, r.json()["code"]) == (400, "TOTP_ALREADY_ENABLED")
    assert enrolled.uri.split("secret=")[1].split("&")[0] not in r.text
    # The secret shows nowhere else.
    s = (await app.get("/get-session")).text
    assert "secret" not in s and enrolled.uri.split("secret=")[1].split("&")[0] not in s


async def test_disable(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    uid = await user_id(app)
    r = await app.post("/two-factor/disable", {"password": "wrong password!"})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_PASSWORD")
    r = await app.post("/two-factor/disable", {"password": PASSWORD})
    assert r.status_code == 200 and r.json() == {"status": True}
    new_token = app.ctx.signer.unsign(cookie_value(set_cookies(r)[COOKIE_SESSION]))
    assert new_token and new_token != enrolled.token
    assert await app.auth.store.find_session(enrolled.token) is None
    assert await plugin_store(app.auth.store).get_two_factor(uid) is None
    user = await app.auth.store.find_user_by_id(uid)
    assert user is not None and user.extra["twoFactorEnabled"] is False
    assert "two-factor-disabled" in [e.event for e in await audit_events(app, uid)]
    r = await app.sign_in()
    assert r.status_code == 200 and "token" in r.json()


async def test_impersonation_cannot_touch_two_factor(app: TestApp) -> None:
    from authkeeper.core.models import ClientInfo
    from authkeeper.flows.sessions import create_session

    clock = freeze(app)
    await enroll(app, clock)
    user = await app.auth.store.find_user_by_email(EMAIL)
    assert user is not None
    session = await create_session(app.ctx, user, ClientInfo(), extra={"impersonatedBy": await an_admin(app)})
    admin = app.new_client()
    cookie = {"cookie": f"{COOKIE_SESSION}={app.ctx.signer.sign_for_cookie(session.token)}"}
    for path in (
        "/two-factor/enable",
        "/two-factor/disable",
        "/two-factor/get-totp-uri",
        "/two-factor/generate-backup-codes",
    ):
        r = await post(admin, app, path, {"password": PASSWORD}, headers=cookie)
        assert (r.status_code, r.json()["code"]) == (403, "NOT_ALLOWED_WHILE_IMPERSONATING"), path
    assert (await plugin_store(app.auth.store).get_two_factor(user.id)) is not None
    await admin.aclose()


async def test_impersonation_cannot_activate_a_pending_enrolment(app: TestApp) -> None:
    from authkeeper.core.models import ClientInfo
    from authkeeper.flows.sessions import create_session

    freeze(app)
    await app.sign_up(EMAIL, PASSWORD)
    r = await app.post("/two-factor/enable", {"password": PASSWORD})
    key = key_from_uri(r.json()["totpURI"])
    user = await app.auth.store.find_user_by_email(EMAIL)
    assert user is not None
    session = await create_session(app.ctx, user, ClientInfo(), extra={"impersonatedBy": await an_admin(app)})
    admin = app.new_client()
    cookie = {"cookie": f"{COOKIE_SESSION}={app.ctx.signer.sign_for_cookie(session.token)}"}
    r = await post(admin, app, "/two-factor/verify-totp", {"code": code_now(app, key)}, headers=cookie)
    assert (r.status_code, r.json()["code"]) == (403, "NOT_ALLOWED_WHILE_IMPERSONATING")
    await admin.aclose()


async def test_sign_out_abandons_a_pending_challenge(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    client = await challenged(app)
    raw = client.cookies.get(COOKIE_2FA)
    assert raw
    challenge_id = app.ctx.signer.unsign(raw)
    assert challenge_id
    r = await post(client, app, "/sign-out")
    assert r.status_code == 200
    assert "Max-Age=0" in set_cookies(r)[COOKIE_2FA]
    assert await app.auth.store.find_verification(challenge_id, app.ctx.now()) is None
    assert await app.auth.store.find_verification("2fa-attempts-" + challenge_id, app.ctx.now()) is None
    replay = app.new_client()
    r = await post(
        replay,
        app,
        "/two-factor/verify-totp",
        {"code": code_now(app, enrolled.key)},
        headers={"cookie": f"{COOKIE_2FA}={raw}"},
    )
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_TWO_FACTOR_COOKIE")
    await client.aclose()
    await replay.aclose()


async def test_lockout_after_ten_failures_across_challenges(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    bad = wrong_code(app, enrolled.key)
    for _ in range(2):
        client = await challenged(app)
        for _ in range(5):
            r = await post(client, app, "/two-factor/verify-totp", {"code": bad})
            assert r.json()["code"] == "INVALID_CODE"
        await client.aclose()
    client = await challenged(app)
    r = await post(client, app, "/two-factor/verify-totp", {"code": code_now(app, enrolled.key)})
    assert (r.status_code, r.json()["code"]) == (429, "ACCOUNT_TEMPORARILY_LOCKED")
    assert int(r.headers["retry-after"]) > 0
    clock.advance(901)
    client2 = await challenged(app)
    r = await post(client2, app, "/two-factor/verify-totp", {"code": code_now(app, enrolled.key)})
    assert r.status_code == 200, r.text
    await client.aclose()
    await client2.aclose()


async def test_concurrent_guesses_across_challenges_cannot_exceed_the_lockout(
    db_url: str, make_app: Callable[..., Any]
) -> None:
    """Ten wrong codes lock the user; guesses sent at once on several challenges are counted
    before they are checked, so no more than ten are ever checked."""
    app = await make_app(db_url=db_url)
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    bad = wrong_code(app, enrolled.key)
    clients = [await challenged(app) for _ in range(4)]
    results = await asyncio.gather(
        *[post(c, app, "/two-factor/verify-totp", {"code": bad}) for c in clients for _ in range(4)]
    )
    codes = [r.json()["code"] for r in results]
    assert codes.count("INVALID_CODE") == 10, codes
    assert codes.count("ACCOUNT_TEMPORARILY_LOCKED") == 6, codes
    for c in clients:
        await c.aclose()


async def test_rate_limit_default(make_app: Callable[..., Any]) -> None:
    app = await make_app(rate_limit=RateLimitSettings())
    statuses = [(await app.post("/two-factor/verify-totp", {"code": "123456"})).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


async def test_issuer_setting_and_eight_digits(make_app: Callable[..., Any]) -> None:
    app = await make_app(two_factor=TwoFactorSettings(issuer="Acme", digits=8))
    freeze(app)
    await app.sign_up(EMAIL, PASSWORD)
    r = await app.post("/two-factor/enable", {"password": PASSWORD})
    uri = r.json()["totpURI"]
    assert uri.startswith("otpauth://totp/Acme:") and "&digits=8&" in uri
    from authkeeper.core.crypto import totp

    code = totp.totp(key_from_uri(uri), app.ctx.now(), digits=8)
    r = await app.post("/two-factor/verify-totp", {"code": code})
    assert r.status_code == 200, r.text


async def test_deleting_the_user_removes_the_second_factor(app: TestApp) -> None:
    clock = freeze(app)
    await enroll(app, clock)
    uid = await user_id(app)
    r = await app.post("/delete-user", {"password": PASSWORD})
    assert r.status_code == 200, r.text
    assert await plugin_store(app.auth.store).get_two_factor(uid) is None
