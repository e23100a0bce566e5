"""Emailed codes only for users who enrolled them (stricter than Better Auth, which offers
the emailed code to every two-factor user, so whoever reads the mailbox, e.g. right after a
password reset, walks past the authenticator app).

The abuse cases first: a TOTP user's challenge offers no emailed code, send-otp and
verify-otp refuse it (400 OTP_NOT_ENABLED, no mail) through a challenge and signed in, and
a refused try costs no attempt. Then the enrolments: ``enable`` with ``method: "otp"``,
turning two-factor on with an emailed code, both methods, disable; and the rows of a
Better Auth database, which has no record of the choice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, cast

import httpx
import pytest
import sqlalchemy as sa

from authkeeper.core import errors
from authkeeper.core.changes import UserUpdate
from authkeeper.core.crypto import symmetric, totp
from authkeeper.core.crypto.random import generate_id
from authkeeper.core.models import ClientInfo
from authkeeper.plugins.two_factor import backup_codes, flows, otp
from authkeeper.plugins.two_factor.store import plugin_store
from authkeeper.storage.sql import SqlStore
from tests.conftest import TestApp
from tests.smtp import (
    SmtpServer,
    settle,
    smtp,  # noqa: F401 - the fixture
)

from .helpers import (
    COOKIE_2FA,
    EMAIL,
    PASSWORD,
    challenged,
    code_now,
    enroll,
    freeze,
    key_from_uri,
    post,
    user_id,
)

pytestmark = pytest.mark.anyio

REFUSED = (400, "OTP_NOT_ENABLED")


def answer(r: httpx.Response) -> tuple[int, str | None]:
    return r.status_code, r.json().get("code")


def last_code(app: TestApp, email: str = EMAIL) -> str:
    found = re.findall(r"\b(\d{6})\b", app.mails(email)[-1].text)
    assert found
    return str(found[0])


async def methods(app: TestApp, email: str = EMAIL) -> list[str]:
    """The ``twoFactorMethods`` a fresh sign-in is answered with."""
    client = app.new_client()
    r = await post(client, app, "/sign-in/email", {"email": email, "password": PASSWORD})
    await client.aclose()
    assert r.status_code == 200 and r.json()["twoFactorRedirect"] is True, r.text
    return list(r.json()["twoFactorMethods"])


async def enable_otp(app: TestApp) -> None:
    r = await app.post("/two-factor/enable", {"password": PASSWORD, "method": "otp"})
    assert r.status_code == 200 and r.json() == {"method": "otp"}, r.text


async def add_app(app: TestApp) -> bytes:
    """Set up and activate an authenticator app for the signed-in ``app.client`` user."""
    r = await app.post("/two-factor/enable", {"password": PASSWORD})
    assert r.status_code == 200, r.text
    key = key_from_uri(r.json()["totpURI"])
    r = await app.post("/two-factor/verify-totp", {"code": code_now(app, key)})
    assert r.status_code == 200, r.text
    return key


async def otp_sign_in(app: TestApp) -> None:
    """A whole sign-in completed with an emailed code."""
    client = await challenged(app)
    r = await post(client, app, "/two-factor/send-otp")
    assert r.status_code == 200, r.text
    r = await post(client, app, "/two-factor/verify-otp", {"code": last_code(app)})
    assert r.status_code == 200, r.text
    assert (await client.get(app.api("/get-session"))).json()["user"]["email"] == EMAIL
    await client.aclose()


# -- abuse: a TOTP user and the mailbox ----------------------------------------------------
async def test_a_totp_user_is_offered_only_the_app(app: TestApp) -> None:
    clock = freeze(app)
    await enroll(app, clock)
    client = app.new_client()
    r = await post(client, app, "/sign-in/email", {"email": EMAIL, "password": PASSWORD})
    assert r.json() == {"twoFactorRedirect": True, "twoFactorMethods": ["totp"]}
    await client.aclose()


async def test_a_totp_users_challenge_gets_no_emailed_code(app: TestApp) -> None:
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    uid = await user_id(app)
    client = await challenged(app)
    challenge_id = app.ctx.signer.unsign(client.cookies.get(COOKIE_2FA))
    mails = len(app.mails(EMAIL))
    # More refused tries than the challenge's budget (5) and than one code's (5).
    for _ in range(app.ctx.settings.two_factor.challenge_max_attempts + 2):
        assert answer(await post(client, app, "/two-factor/send-otp")) == REFUSED
        assert answer(await post(client, app, "/two-factor/verify-otp", {"code": "123456"})) == REFUSED
    assert len(app.mails(EMAIL)) == mails, "no mail was sent"
    assert await app.auth.store.find_verification("2fa-otp-" + challenge_id, app.ctx.now()) is None
    # No attempt of the challenge and no try of the account lockout was spent on them.
    attempts = await app.auth.store.find_verification("2fa-attempts-" + challenge_id, app.ctx.now())
    assert attempts is not None and attempts.value == "0"
    assert await app.auth.store.get_failures("two-factor:" + uid) is None
    # The challenge lives on: a backup code completes the sign-in.
    r = await post(client, app, "/two-factor/verify-backup-code", {"code": enrolled.backup_codes[0]})
    assert r.status_code == 200, r.text
    assert (await client.get(app.api("/get-session"))).json()["user"]["email"] == EMAIL
    await client.aclose()


async def test_a_signed_in_totp_user_gets_no_emailed_code(app: TestApp) -> None:
    clock = freeze(app)
    await enroll(app, clock)
    mails = len(app.mails(EMAIL))
    assert answer(await app.post("/two-factor/send-otp")) == REFUSED
    assert answer(await app.post("/two-factor/verify-otp", {"code": "123456"})) == REFUSED
    assert len(app.mails(EMAIL)) == mails
    assert await methods(app) == ["totp"]


async def test_a_refused_code_sends_nothing_over_smtp(make_app: Callable[..., Any], smtp: SmtpServer) -> None:  # noqa: F811
    app = await make_app(mail=smtp.mail_settings())
    clock = freeze(app)
    await enroll(app, clock)
    client = await challenged(app)
    await settle(app)
    before = len(smtp.for_address(EMAIL))
    assert answer(await post(client, app, "/two-factor/send-otp")) == REFUSED
    assert answer(await app.post("/two-factor/send-otp")) == REFUSED
    await settle(app)
    assert len(smtp.for_address(EMAIL)) == before
    await client.aclose()


# -- enrolments ----------------------------------------------------------------------------
async def test_an_email_code_user_has_email_codes_only(app: TestApp) -> None:
    freeze(app)
    await app.sign_up(EMAIL, PASSWORD)
    await enable_otp(app)
    assert await methods(app) == ["otp"]
    await otp_sign_in(app)
    r = await app.post("/two-factor/send-otp")
    assert r.status_code == 200, r.text
    r = await app.post("/two-factor/verify-otp", {"code": last_code(app)})
    assert r.status_code == 200, r.text


async def test_an_app_added_to_email_codes_keeps_them(app: TestApp) -> None:
    clock = freeze(app)
    await app.sign_up(EMAIL, PASSWORD)
    await enable_otp(app)
    key = await add_app(app)
    clock.advance(30)
    assert await methods(app) == ["totp", "otp"]
    await otp_sign_in(app)
    client = await challenged(app)
    assert (await post(client, app, "/two-factor/verify-totp", {"code": code_now(app, key)})).status_code == 200
    await client.aclose()


async def test_email_codes_added_to_an_app(app: TestApp) -> None:
    clock = freeze(app)
    await enroll(app, clock)
    assert await methods(app) == ["totp"]
    await enable_otp(app)
    assert await methods(app) == ["totp", "otp"]
    await otp_sign_in(app)
    # Enabling them again changes nothing.
    await enable_otp(app)
    assert await methods(app) == ["totp", "otp"]


async def test_turning_two_factor_on_with_an_emailed_code_enrols_email_codes(app: TestApp) -> None:
    """Better Auth's other way in, kept: signed in with no two-factor, a verified code turns it on."""
    clock = freeze(app)
    await app.sign_up(EMAIL, PASSWORD)
    assert (await app.post("/two-factor/send-otp")).status_code == 200
    r = await app.post("/two-factor/verify-otp", {"code": last_code(app)})
    assert r.status_code == 200 and r.json()["user"]["twoFactorEnabled"] is True, r.text
    assert await methods(app) == ["otp"]
    await add_app(app)
    clock.advance(30)
    assert await methods(app) == ["totp", "otp"]


async def test_an_emailed_code_during_the_app_set_up_keeps_both(app: TestApp) -> None:
    clock = freeze(app)
    await app.sign_up(EMAIL, PASSWORD)
    r = await app.post("/two-factor/enable", {"password": PASSWORD})
    key = key_from_uri(r.json()["totpURI"])
    # The app is not active yet: two-factor is off, so the emailed code turns it on.
    assert (await app.post("/two-factor/send-otp")).status_code == 200
    assert (await app.post("/two-factor/verify-otp", {"code": last_code(app)})).status_code == 200
    assert await methods(app) == ["otp"]
    r = await app.post("/two-factor/verify-totp", {"code": code_now(app, key)})
    assert r.status_code == 200, r.text
    clock.advance(30)
    assert await methods(app) == ["totp", "otp"]


async def test_disable_forgets_the_email_codes(app: TestApp) -> None:
    clock = freeze(app)
    await enroll(app, clock)
    await enable_otp(app)
    assert await methods(app) == ["totp", "otp"]
    r = await app.post("/two-factor/disable", {"password": PASSWORD})
    assert r.status_code == 200, r.text
    uid = await user_id(app)
    assert await plugin_store(app.auth.store).get_two_factor(uid) is None
    await add_app(app)
    clock.advance(30)
    assert await methods(app) == ["totp"]
    assert answer(await app.post("/two-factor/send-otp")) == REFUSED


async def test_a_stale_view_of_the_user_cannot_slip_email_codes_in(app: TestApp) -> None:
    """A request that saw the user without two-factor (the signed-in activation path) while
    another turned the app on must not enrol email codes when it writes."""
    clock = freeze(app)
    await app.sign_up(EMAIL, PASSWORD)
    other = app.new_client()
    r = await post(other, app, "/sign-in/email", {"email": EMAIL, "password": PASSWORD})
    found = await app.auth.store.find_session(r.json()["token"])
    assert found is not None
    session, stale = found
    assert not stale.extra.get("twoFactorEnabled")
    await add_app(app)  # meanwhile, on the first device
    clock.advance(30)
    prover = flows.Prover(stale, session=session)
    await otp.send_otp(app.ctx, prover)
    with pytest.raises(errors.AuthError) as refused:
        await otp.verify_otp(app.ctx, prover, last_code(app), client=ClientInfo(ip="127.0.0.1"))
    assert refused.value.code == "OTP_NOT_ENABLED"
    assert await methods(app) == ["totp"]
    await other.aclose()


# -- a Better Auth database: no record of the choice ---------------------------------------
async def _better_auth_row(app: TestApp, uid: str, *, verified: bool | None) -> bytes:
    """A twoFactor row with Better Auth's columns only (authkeeper's own left NULL)."""
    secret = totp.generate_secret()
    store = cast(SqlStore, app.auth.store)
    table = store.t.by_name["twoFactor"]
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.insert(table).values(
                id=generate_id(),
                userId=uid,
                secret=symmetric.encrypt(app.ctx.settings.secret, secret),
                backupCodes=backup_codes.seal(app.ctx, ["aaaaa-bbbbb"]),
                verified=verified,
            )
        )
    return totp.secret_key(secret)


@pytest.mark.parametrize("row", ["none", "unverified"])
async def test_better_auth_two_factor_without_an_app_means_email_codes(
    db_url: str, make_app: Callable[..., Any], row: str
) -> None:
    app = await make_app(db_url=db_url)
    freeze(app)
    await app.sign_up(EMAIL, PASSWORD)
    uid = await user_id(app)
    await app.auth.store.update_user(uid, UserUpdate(fields={"twoFactorEnabled": True}))
    if row == "unverified":
        await _better_auth_row(app, uid, verified=False)
    assert await methods(app) == ["otp"]
    await otp_sign_in(app)


@pytest.mark.parametrize("verified", [True, None], ids=["verified", "legacy-null"])
async def test_better_auth_verified_app_means_the_app_only(
    db_url: str, make_app: Callable[..., Any], verified: bool | None
) -> None:
    app = await make_app(db_url=db_url)
    freeze(app)
    await app.sign_up(EMAIL, PASSWORD)
    uid = await user_id(app)
    await app.auth.store.update_user(uid, UserUpdate(fields={"twoFactorEnabled": True}))
    key = await _better_auth_row(app, uid, verified=verified)
    assert await methods(app) == ["totp"]
    client = await challenged(app)
    assert answer(await post(client, app, "/two-factor/send-otp")) == REFUSED
    r = await post(client, app, "/two-factor/verify-totp", {"code": code_now(app, key)})
    assert r.status_code == 200, r.text
    await client.aclose()
