"""Emailed one-time codes: delivery, attempts, expiry, and turning two-factor on by email."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from authkeeper.core.settings import MailSettings
from authkeeper.plugins.two_factor import TwoFactorSettings
from tests.conftest import TestApp

from .helpers import (
    COOKIE_2FA,
    EMAIL,
    PASSWORD,
    audit_events,
    challenged,
    enroll,
    freeze,
    post,
    set_cookies,
    user_id,
)

pytestmark = pytest.mark.anyio


def last_code(app: TestApp, email: str = EMAIL) -> str:
    mails = app.mails(email)
    assert mails, "no mail"
    found = re.findall(r"\b(\d{6})\b", mails[-1].text)
    assert found, mails[-1].text
    return found[0]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_otp_at_sign_in(app: TestApp) -> None:
    clock = freeze(app)
    await enroll(app, clock, email_codes=True)
    client = await challenged(app)
    r = await post(client, app, "/two-factor/verify-otp", {"code": "123456"})
    assert (r.status_code, r.json()["code"]) == (400, "OTP_HAS_EXPIRED")
    r = await post(client, app, "/two-factor/send-otp")
    assert r.json() == {"status": True}
    mail = app.mails(EMAIL)[-1]
    code = last_code(app)
    assert code in mail.html and mail.html.startswith("<!doctype html>")
    challenge_id = app.ctx.signer.unsign(client.cookies.get(COOKIE_2FA))
    row = await app.auth.store.find_verification("2fa-otp-" + challenge_id, app.ctx.now())
    assert row is not None and code not in row.value and row.value.endswith(":0")
    r = await post(client, app, "/two-factor/verify-otp", {"code": code})
    assert r.status_code == 200, r.text
    assert "Max-Age=0" in set_cookies(r)[COOKIE_2FA]
    assert (await client.get(app.api("/get-session"))).json()["user"]["email"] == EMAIL
    # Used up.
    assert await app.auth.store.find_verification("2fa-otp-" + challenge_id, app.ctx.now()) is None
    await client.aclose()


async def test_five_wrong_tries_kill_the_code(make_app: Callable[..., Any]) -> None:
    # A larger challenge budget, so the code's own limit is what is tested.
    app = await make_app(
        two_factor=TwoFactorSettings(challenge_max_attempts=20), mail=MailSettings(backend="none", outbox=True)
    )
    clock = freeze(app)
    await enroll(app, clock, email_codes=True)
    client = await challenged(app)
    await post(client, app, "/two-factor/send-otp")
    code = last_code(app)
    for _ in range(5):
        r = await post(client, app, "/two-factor/verify-otp", {"code": wrong(code)})
        assert (r.status_code, r.json()["code"]) == (401, "INVALID_CODE")
    r = await post(client, app, "/two-factor/verify-otp", {"code": code})
    assert (r.status_code, r.json()["code"]) == (400, "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE")
    r = await post(client, app, "/two-factor/verify-otp", {"code": code})
    assert (r.status_code, r.json()["code"]) == (400, "OTP_HAS_EXPIRED")
    # The challenge itself lives on: a new code works.
    await post(client, app, "/two-factor/send-otp")
    r = await post(client, app, "/two-factor/verify-otp", {"code": last_code(app)})
    assert r.status_code == 200, r.text
    await client.aclose()


async def test_a_new_code_replaces_the_old_one(app: TestApp) -> None:
    clock = freeze(app)
    await enroll(app, clock, email_codes=True)
    client = await challenged(app)
    await post(client, app, "/two-factor/send-otp")
    first = last_code(app)
    await post(client, app, "/two-factor/send-otp")
    second = last_code(app)
    if first != second:
        r = await post(client, app, "/two-factor/verify-otp", {"code": first})
        assert r.json()["code"] == "INVALID_CODE"
    r = await post(client, app, "/two-factor/verify-otp", {"code": second})
    assert r.status_code == 200, r.text
    await client.aclose()


async def test_otp_expires(app: TestApp) -> None:
    clock = freeze(app)
    await enroll(app, clock, email_codes=True)
    client = await challenged(app)
    await post(client, app, "/two-factor/send-otp")
    code = last_code(app)
    clock.advance(301)
    r = await post(client, app, "/two-factor/verify-otp", {"code": code})
    assert (r.status_code, r.json()["code"]) == (400, "OTP_HAS_EXPIRED")
    await client.aclose()


async def test_enable_by_email_otp(app: TestApp) -> None:
    freeze(app)
    first = await app.sign_up(EMAIL, PASSWORD)
    r = await app.post("/two-factor/enable", {"password": PASSWORD, "method": "otp"})
    assert r.status_code == 200 and r.json() == {"method": "otp"}
    uid = await user_id(app)
    user = await app.auth.store.find_user_by_id(uid)
    assert user is not None and user.extra["twoFactorEnabled"] is True
    assert await app.auth.store.find_session(first.json()["token"]) is None  # rotated
    assert [e.details for e in await audit_events(app, uid) if e.event == "two-factor-enabled"] == [{"method": "otp"}]
    r = await app.post("/two-factor/enable", {"password": PASSWORD, "method": "sms"})
    assert (r.status_code, r.json()["code"]) == (400, "VALIDATION_ERROR")
    r = await app.sign_in()
    assert r.json() == {"twoFactorRedirect": True, "twoFactorMethods": ["otp"]}


async def test_signed_in_otp_check(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock, email_codes=True)
    r = await app.post("/two-factor/send-otp")
    assert r.status_code == 200
    r = await app.post("/two-factor/verify-otp", {"code": last_code(app)})
    assert r.status_code == 200 and r.json()["token"] == enrolled.token


async def test_concurrent_wrong_tries_cannot_exceed_five(db_url: str, make_app: Callable[..., Any]) -> None:
    import asyncio

    app = await make_app(db_url=db_url, mail=MailSettings(backend="none", outbox=True))
    clock = freeze(app)
    await enroll(app, clock, email_codes=True)
    await app.post("/two-factor/send-otp")  # signed in: only the code's own counter applies
    bad = wrong(last_code(app))
    results = await asyncio.gather(*[app.post("/two-factor/verify-otp", {"code": bad}) for _ in range(12)])
    codes = [r.json()["code"] for r in results]
    assert codes.count("INVALID_CODE") == 5, codes
    assert set(codes) <= {"INVALID_CODE", "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE", "OTP_HAS_EXPIRED"}
