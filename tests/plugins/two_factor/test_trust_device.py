"""Trusted devices: the signed cookie, skipping and rotating, and forgetting on revocation."""

from __future__ import annotations

import base64
import hashlib
import hmac

import httpx
import pytest

from tests.conftest import SECRET, TestApp

from .helpers import (
    COOKIE_2FA,
    COOKIE_TRUST,
    EMAIL,
    PASSWORD,
    challenged,
    code_now,
    cookie_value,
    enroll,
    freeze,
    post,
    set_cookies,
    trusted_browser,
    user_id,
)

pytestmark = pytest.mark.anyio


async def sign_in(app: TestApp, client: httpx.AsyncClient) -> httpx.Response:
    r = await post(client, app, "/sign-in/email", {"email": EMAIL, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r


async def test_cookie_format_and_record(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    client, raw = await trusted_browser(app, enrolled)
    value = app.ctx.signer.unsign(raw)
    assert value is not None
    mac, trust_id = value.split("!")
    uid = await user_id(app)
    expected = hmac.new(SECRET.encode(), f"{uid}!{trust_id}".encode(), hashlib.sha256).digest()
    assert mac == base64.urlsafe_b64encode(expected).rstrip(b"=").decode()
    assert trust_id.startswith("trust-device-") and len(trust_id) == len("trust-device-") + 32
    row = await app.auth.store.find_verification(trust_id, app.ctx.now())
    assert row is not None and row.value == uid
    await client.aclose()


async def test_trusted_device_skips_the_challenge_and_rotates(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    client, first = await trusted_browser(app, enrolled)
    await post(client, app, "/sign-out")
    r = await sign_in(app, client)
    assert "token" in r.json() and "twoFactorRedirect" not in r.json()
    second = cookie_value(set_cookies(r)[COOKIE_TRUST])
    assert second != first
    old_id = app.ctx.signer.unsign(first).split("!")[1]  # type: ignore[union-attr]
    assert await app.auth.store.find_verification(old_id, app.ctx.now()) is None
    # A copy of the old cookie is worth nothing now.
    copy = app.new_client()
    r = await post(
        copy,
        app,
        "/sign-in/email",
        {"email": EMAIL, "password": PASSWORD},
        headers={"cookie": f"{COOKIE_TRUST}={first}"},
    )
    assert r.json()["twoFactorRedirect"] is True
    # The rotated one still works.
    r = await sign_in(app, client)
    assert "token" in r.json()
    await client.aclose()
    await copy.aclose()


async def test_revoke_sessions_forgets_trusted_devices(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    client, _ = await trusted_browser(app, enrolled)
    r = await post(client, app, "/revoke-sessions")
    assert r.status_code == 200
    r = await sign_in(app, client)
    assert r.json()["twoFactorRedirect"] is True
    await client.aclose()


async def test_password_change_with_revocation_forgets_trusted_devices(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    client, _ = await trusted_browser(app, enrolled)
    new_password = "another fine passphrase"
    r = await post(
        client,
        app,
        "/change-password",
        {"currentPassword": PASSWORD, "newPassword": new_password, "revokeOtherSessions": True},
    )
    assert r.status_code == 200, r.text
    r = await post(client, app, "/sign-in/email", {"email": EMAIL, "password": new_password})
    assert r.json()["twoFactorRedirect"] is True
    await client.aclose()


async def test_password_change_without_revocation_keeps_them(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    client, _ = await trusted_browser(app, enrolled)
    new_password = "another fine passphrase"
    r = await post(client, app, "/change-password", {"currentPassword": PASSWORD, "newPassword": new_password})
    assert r.status_code == 200, r.text
    r = await post(client, app, "/sign-in/email", {"email": EMAIL, "password": new_password})
    assert "token" in r.json()
    await client.aclose()


async def test_revocation_also_kills_pending_challenges(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    pending = await challenged(app)
    r = await app.post("/revoke-sessions")
    assert r.status_code == 200
    r = await post(pending, app, "/two-factor/verify-totp", {"code": code_now(app, enrolled.key)})
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_TWO_FACTOR_COOKIE")
    await pending.aclose()


async def test_disable_removes_trusted_devices(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    client, raw = await trusted_browser(app, enrolled)
    trust_id = app.ctx.signer.unsign(raw).split("!")[1]  # type: ignore[union-attr]
    r = await post(client, app, "/two-factor/disable", {"password": PASSWORD})
    assert r.status_code == 200
    assert "Max-Age=0" in set_cookies(r)[COOKIE_TRUST]
    assert await app.auth.store.find_verification(trust_id, app.ctx.now()) is None
    await client.aclose()


async def test_trusted_device_expires_and_is_per_user(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    client, raw = await trusted_browser(app, enrolled)
    # Another user's sign-in is not helped by Ann's cookie.
    app.client.cookies.clear()
    await app.sign_up("bob@example.com", PASSWORD)
    r = await app.post("/two-factor/enable", {"password": PASSWORD, "method": "otp"})
    assert r.status_code == 200
    bob = app.new_client()
    r = await post(
        bob,
        app,
        "/sign-in/email",
        {"email": "bob@example.com", "password": PASSWORD},
        headers={"cookie": f"{COOKIE_TRUST}={raw}"},
    )
    assert r.json()["twoFactorRedirect"] is True
    # After 30 days Ann is challenged again.
    clock.advance(2592000 + 1)
    r = await sign_in(app, client)
    assert r.json()["twoFactorRedirect"] is True
    assert COOKIE_2FA in set_cookies(r)
    await client.aclose()
    await bob.aclose()
