"""Shared steps for the two-factor tests: a frozen clock, enrolment, sign-in challenges."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from authkeeper.core.crypto import totp
from authkeeper.core.ports import AuditQuery
from tests.conftest import ORIGIN, TestApp

EMAIL = "ann@example.com"
PASSWORD = "a fine passphrase"
COOKIE_2FA = "better-auth.two_factor"
COOKIE_TRUST = "better-auth.trust_device"
COOKIE_SESSION = "better-auth.session_token"


class Clock:
    """A clock the test moves by hand (installed as ``ctx.clock``)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def freeze(app: TestApp) -> Clock:
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    app.auth.ctx.clock = clock
    return clock


def key_from_uri(uri: str) -> bytes:
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def code_now(app: TestApp, key: bytes) -> str:
    return totp.totp(key, app.ctx.now())


def wrong_code(app: TestApp, key: bytes) -> str:
    step = totp.time_step(app.ctx.now())
    valid = {totp.hotp(key, s) for s in (step - 1, step, step + 1)}
    return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in valid)


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Set-Cookie headers by cookie name (the last one for each name)."""
    out: dict[str, str] = {}
    for header in response.headers.get_list("set-cookie"):
        out[header.split("=", 1)[0]] = header
    return out


def cookie_value(header: str) -> str:
    return header.split(";", 1)[0].split("=", 1)[1]


async def post(client: httpx.AsyncClient, app: TestApp, path: str, body: Any = None, **kw: Any) -> httpx.Response:
    headers = {"origin": ORIGIN, **kw.pop("headers", {})}
    return await client.post(app.api(path), json=body if body is not None else {}, headers=headers, **kw)


@dataclass
class Enrolled:
    key: bytes
    backup_codes: list[str]
    uri: str
    token: str


async def enroll(app: TestApp, clock: Clock, email: str = EMAIL, *, email_codes: bool = False) -> Enrolled:
    """Sign up (on ``app.client``), enable TOTP, activate it, and step past the used code;
    with ``email_codes``, enrol emailed codes too (only then may a TOTP user use them)."""
    await app.sign_up(email, PASSWORD)
    r = await app.post("/two-factor/enable", {"password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    key = key_from_uri(body["totpURI"])
    r = await app.post("/two-factor/verify-totp", {"code": code_now(app, key)})
    assert r.status_code == 200, r.text
    clock.advance(30)
    token = r.json()["token"]
    if email_codes:
        r = await app.post("/two-factor/enable", {"password": PASSWORD, "method": "otp"})
        assert r.status_code == 200, r.text
        token = (await app.get("/get-session")).json()["session"]["token"]
    return Enrolled(key, body["backupCodes"], body["totpURI"], token)


async def challenged(app: TestApp, email: str = EMAIL, **extra: Any) -> httpx.AsyncClient:
    """A fresh browser that signed in with the password and now holds a challenge."""
    client = app.new_client()
    r = await post(client, app, "/sign-in/email", {"email": email, "password": PASSWORD, **extra})
    assert r.status_code == 200, r.text
    assert r.json()["twoFactorRedirect"] is True, r.text
    return client


async def trusted_browser(app: TestApp, enrolled: Enrolled) -> tuple[httpx.AsyncClient, str]:
    """A browser that passed a challenge with "trust this device": it and its trust cookie's value."""
    client = await challenged(app)
    r = await post(client, app, "/two-factor/verify-totp", {"code": code_now(app, enrolled.key), "trustDevice": True})
    assert r.status_code == 200, r.text
    header = set_cookies(r)[COOKIE_TRUST]
    assert "Max-Age=2592000" in header and "HttpOnly" in header
    return client, cookie_value(header)


async def audit_events(app: TestApp, user_id: str) -> list[Any]:
    events, _ = await app.auth.store.list_audit(AuditQuery(user_id=user_id))
    return events


async def user_id(app: TestApp, email: str = EMAIL) -> str:
    user = await app.auth.store.find_user_by_email(email)
    assert user is not None
    return user.id
