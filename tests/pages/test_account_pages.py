"""The account pages, in-process: profile, email, password, sessions, deletion and the
two-factor set-up and challenge, each through the same flows as the API."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from authkeeper.core.crypto import totp
from authkeeper.core.ports import AuditQuery
from authkeeper.core.settings import UserSettings
from tests.conftest import ORIGIN
from tests.flows._helpers import Clock
from tests.pages.helpers import (
    PASSWORD,
    Visitor,
    attr,
    field_error,
    form_alert,
    input_tag,
    notice,
    text,
)

pytestmark = pytest.mark.anyio


async def test_profile_and_email(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    v = Visitor(app)
    await v.sign_up()
    r = await v.submit("/account", "/account/profile", {"name": "Ann Lee", "image": "https://img.example.com/a.png"})
    assert r.headers["location"] == "/account?notice=profile-saved"
    page = (await v.get(r.headers["location"])).text
    assert notice(page) == "Your profile is saved."
    assert attr(input_tag(page, "name"), "value") == "Ann Lee"
    assert (await v.session())["user"]["image"] == "https://img.example.com/a.png"
    r = await v.submit("/account", "/account/profile", {"name": "x" * 300, "image": ""})
    assert field_error(r.text, "name") == "Too long: at most 255 characters."
    assert attr(input_tag(r.text, "name"), "value") == "x" * 300
    # Change of email: the same address, a bad one, then a link to the new address.
    assert "Not confirmed" in page
    r = await v.submit("/account", "/account/email", {"new_email": "ann@example.com"})
    assert field_error(r.text, "new_email") == "That is already your email address."
    r = await v.submit("/account", "/account/email", {"new_email": "bad"})
    assert field_error(r.text, "new_email") == "Enter an email address like name@example.com."
    assert attr(input_tag(r.text, "new_email"), "value") == "bad"
    assert attr(input_tag(r.text, "name"), "value") == "Ann Lee"  # the other form shows the stored name
    r = await v.submit("/account", "/account/email", {"new_email": "ann.lee@example.com"})
    assert r.headers["location"] == "/account?notice=email-change-sent"
    link = app.mails("ann.lee@example.com")[-1].url
    assert parse_qs(urlsplit(link).query)["callbackURL"] == ["/verify-email"]
    r = await v.get(link.replace(ORIGIN, ""))
    assert r.headers["location"] == "/verify-email"
    page = (await v.get("/verify-email")).text
    assert "ann.lee@example.com is confirmed" in text(page)
    assert "Confirmed" in (await v.get("/account")).text
    # The resend button: refused once confirmed.
    r = await v.submit("/account", "/verify-email/resend", {})
    assert r.status_code == 400 and "already confirmed" in r.text
    await v.close()


async def test_change_password_and_sign_out_other_devices(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    laptop, phone = Visitor(app), Visitor(app)
    await laptop.sign_up()
    await phone.sign_in()
    r = await laptop.submit(
        "/account/security",
        "/account/password",
        {"current_password": "wrong one!", "new_password": "a brand new passphrase"},
    )
    assert field_error(r.text, "current_password") == "That is not your current password."
    assert attr(input_tag(r.text, "current_password"), "autofocus") is not None
    assert "a brand new passphrase" not in r.text and "wrong one!" not in r.text
    r = await laptop.submit(
        "/account/security", "/account/password", {"current_password": PASSWORD, "new_password": "short"}
    )
    assert field_error(r.text, "new_password") == "Use at least 8 characters."
    r = await laptop.submit(
        "/account/security",
        "/account/password",
        {"current_password": PASSWORD, "new_password": "a brand new passphrase", "revoke_others": "on"},
    )
    assert r.headers["location"] == "/account/security?notice=password-changed-others-out"
    assert await phone.session() is None
    assert (await laptop.session())["user"]["email"] == "ann@example.com"
    assert (await phone.sign_in(password="a brand new passphrase")).status_code == 303
    await laptop.close()
    await phone.close()


async def test_sessions_list_and_revoke(make_app: Callable[..., Any], db_url: str) -> None:
    app = await make_app(db_url=db_url)
    laptop, phone, tablet = Visitor(app), Visitor(app), Visitor(app)
    await laptop.sign_up()
    await phone.submit(
        "/sign-in",
        "/sign-in",
        {"email": "ann@example.com", "password": PASSWORD},
        headers={
            "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
        },
    )
    await tablet.sign_in()
    r = await laptop.get(
        "/account/sessions",
        headers={"user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
    )
    page = r.text
    assert page.count('<li class="session') == 3 and page.count("This device") == 1
    assert "Safari 17 on iOS" in page
    handles = re.findall(r'name="token" value="([^"]+)"', page)
    assert len(handles) == 2 and all(h.startswith("sid_") for h in handles)
    own = (await laptop.session())["session"]["token"]
    assert own not in page
    phone_id = (await phone.session())["session"]["id"]
    r = await laptop.submit("/account/sessions", "/account/sessions/revoke", {"token": f"sid_{phone_id}"})
    assert r.headers["location"] == "/account/sessions?notice=session-revoked"
    assert await phone.session() is None and await tablet.session() is not None
    r = await laptop.submit("/account/sessions", "/account/sessions/revoke-others", {})
    assert r.headers["location"] == "/account/sessions?notice=others-revoked"
    assert await tablet.session() is None and await laptop.session() is not None
    page = (await laptop.get("/account/sessions")).text
    assert page.count('<li class="session') == 1 and "Sign out everywhere else" not in page
    for v in (laptop, phone, tablet):
        await v.close()


async def test_delete_account(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    v = Visitor(app)
    await v.sign_up()
    r = await v.submit("/account/security", "/account/delete", {"delete_password": "wrong password"})
    assert field_error(r.text, "delete_password") == "That is not your current password."
    r = await v.submit("/account/security", "/account/delete", {"delete_password": PASSWORD})
    assert r.headers["location"] == "/sign-in?notice=account-deleted"
    assert await app.ctx.store.find_user_by_email("ann@example.com") is None
    assert (await v.get("/account")).status_code == 303


async def test_delete_account_confirmed_by_mail(make_app: Callable[..., Any]) -> None:
    app = await make_app(user=UserSettings(delete_confirm_by_email=True))
    v = Visitor(app)
    await v.sign_up()
    r = await v.submit("/account/security", "/account/delete", {"delete_password": PASSWORD})
    assert r.headers["location"] == "/account/security?notice=delete-mail-sent"
    link = app.mails("ann@example.com")[-1].url
    r = await v.get(link.replace(ORIGIN, ""))
    assert r.headers["location"] == "/sign-in?notice=account-deleted"
    assert notice((await v.get(r.headers["location"])).text) == "Your account and its data are deleted."
    assert await app.ctx.store.find_user_by_email("ann@example.com") is None


def _key(page: str) -> bytes:
    secret = re.search(r'<code class="secret-key">([A-Z2-7 ]+)</code>', page)
    assert secret, "no secret key on the page"
    encoded = secret.group(1).replace(" ", "")
    return base64.b32decode(encoded + "=" * (-len(encoded) % 8))


def code_at(key: bytes, offset_steps: int = 0) -> str:
    return totp.hotp(key, totp.time_step(time.time()) + offset_steps)


async def test_two_factor_setup_challenge_backup_codes_and_off(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    v = Visitor(app)
    await v.sign_up()
    r = await v.submit(
        "/account/security", "/account/two-factor/enable", {"tf_password": "wrong password", "method": "totp"}
    )
    assert field_error(r.text, "tf_password") == "That is not your current password."
    r = await v.submit("/account/security", "/account/two-factor/enable", {"tf_password": PASSWORD, "method": "totp"})
    assert r.status_code == 200 and "<svg" in r.text and "Scan this QR code" in r.text
    codes = re.findall(r"<li><code>([A-Za-z0-9]{5}-[A-Za-z0-9]{5})</code></li>", r.text)
    assert len(codes) == 10
    key = _key(r.text)
    uri = re.search(r'name="totp_uri" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    # A wrong code: the QR code again, the backup codes not.
    bad = next(c for c in ("000000", "111111", "222222") if c not in {code_at(key, d) for d in (-1, 0, 1, 2)})
    r2 = await v.submit(
        "/account/security", "/account/two-factor/activate", {"code": bad, "totp_uri": uri.replace("&amp;", "&")}
    )
    assert field_error(r2.text, "code") == "That code is not right. Check your app or email and try again."
    assert "<svg" in r2.text and codes[0] not in r2.text
    r = await v.submit("/account/security", "/account/two-factor/activate", {"code": code_at(key), "totp_uri": ""})
    assert r.headers["location"] == "/account/security?notice=two-factor-on"
    page = (await v.get(r.headers["location"])).text
    assert "Two-factor authentication is on." in page and "authenticator app" in page
    # The next sign-in asks for the second factor.
    await v.submit("/account", "/sign-out", {})
    r = await v.sign_in()
    assert r.headers["location"] == "/two-factor"
    assert await v.session() is None
    page = (await v.get("/two-factor")).text
    assert attr(input_tag(page, "code"), "autocomplete") == "one-time-code"
    r = await v.submit("/two-factor", "/two-factor", {"method": "totp", "code": "12345"})
    assert field_error(r.text, "code") == "That code is not right. Check your app or email and try again."
    # The next step's code (within the allowed drift): a code works once, even across sign-ins.
    r = await v.submit("/two-factor", "/two-factor", {"method": "totp", "code": code_at(key, 1)})
    assert r.headers["location"] == "/account"
    assert (await v.session())["user"]["twoFactorEnabled"] is True
    # Backup codes: a new set replaces the old; one works once at the challenge.
    r = await v.submit("/account/security", "/account/two-factor/backup-codes", {"codes_password": PASSWORD})
    fresh = re.findall(r"<li><code>([A-Za-z0-9]{5}-[A-Za-z0-9]{5})</code></li>", r.text)
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    await v.submit("/account", "/sign-out", {})
    await v.sign_in()
    r = await v.submit("/two-factor?method=backup", "/two-factor", {"method": "backup", "code": codes[0]})
    assert field_error(r.text, "code") == "That backup code is not right, or it was used already."
    r = await v.submit(
        "/two-factor?method=backup", "/two-factor", {"method": "backup", "code": fresh[0], "trust": "on"}
    )
    assert r.headers["location"] == "/account"
    assert any("trust_device=" in c for c in r.headers.get_list("set-cookie"))
    # A trusted device signs in without a code.
    await v.submit("/account", "/sign-out", {})
    assert (await v.sign_in()).headers["location"] == "/account"
    # Off, with the password.
    r = await v.submit("/account/security", "/account/two-factor/disable", {"off_password": PASSWORD})
    assert r.headers["location"] == "/account/security?notice=two-factor-off"
    assert (await v.session())["user"]["twoFactorEnabled"] is False
    await v.close()


async def test_email_code_challenge(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    v = Visitor(app)
    await v.sign_up()
    r = await v.submit("/account/security", "/account/two-factor/enable", {"tf_password": PASSWORD, "method": "otp"})
    assert r.headers["location"] == "/account/security?notice=two-factor-on"
    page = (await v.get("/account/security")).text
    assert "Signing in asks for a code we email you." in page
    await v.submit("/account", "/sign-out", {})
    r = await v.sign_in(next="/account/sessions")
    assert r.headers["location"] == "/two-factor?next=%2Faccount%2Fsessions"
    page = (await v.get(r.headers["location"])).text
    assert "a•••@example.com" in page and "Email me a code" in page
    r = await v.submit("/two-factor", "/two-factor/send-code", {"next": "/account/sessions"})
    assert r.headers["location"] == "/two-factor?method=otp&next=%2Faccount%2Fsessions&notice=code-sent"
    code = re.search(r"\b(\d{6})\b", app.mails("ann@example.com")[-1].text).group(1)  # type: ignore[union-attr]
    r = await v.submit("/two-factor", "/two-factor", {"method": "otp", "code": code, "next": "/account/sessions"})
    assert r.headers["location"] == "/account/sessions"
    assert (await v.session())["user"]["email"] == "ann@example.com"
    await v.close()


async def test_challenge_without_a_pending_sign_in_goes_back_to_sign_in(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    v = Visitor(app)
    r = await v.get("/two-factor")
    assert r.headers["location"] == "/sign-in?notice=sign-in-expired"
    page = await v.get(r.headers["location"])
    assert form_alert(page.text, "sign-in") is None and "That sign-in took too long" in page.text
    await v.close()


async def test_guessing_the_current_password_on_a_page_locks_the_account(make_app: Callable[..., Any]) -> None:
    """The pages' password forms count in the sign-in lockout as the API does."""
    clock = Clock()
    app = await make_app()
    app.ctx.clock = clock
    v = Visitor(app)
    await v.sign_up()
    form = {"current_password": "wrong one!", "new_password": "a brand new passphrase"}
    for _ in range(5):
        r = await v.submit("/account/security", "/account/password", form)
        assert r.status_code == 400 and field_error(r.text, "current_password") == "That is not your current password."
    r = await v.submit("/account/security", "/account/password", {**form, "current_password": PASSWORD})
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 900
    assert (
        form_alert(r.text, "password") == "Too many failed sign-in attempts for this account. Try again in 15 minutes."
    )
    other = Visitor(app)
    assert (await other.sign_in()).status_code == 429  # sign-in is locked too
    rows, _ = await app.auth.store.list_audit(AuditQuery(events=("password-check-failed",)))
    assert [r.details["endpoint"] for r in rows] == ["change-password"] * 6
    assert len((await app.auth.store.list_audit(AuditQuery(events=("account-locked",))))[0]) == 1
    clock.advance(901)
    assert (await other.sign_in()).status_code == 303  # the password did not change
    await v.close()
    await other.close()


async def test_change_email_with_a_stale_session_asks_for_the_password(make_app: Callable[..., Any]) -> None:
    clock = Clock()
    app = await make_app()
    app.ctx.clock = clock
    v = Visitor(app)
    await v.sign_up()
    tag = input_tag((await v.get("/account")).text, "current_password")
    assert attr(tag, "type") == "password" and attr(tag, "required") is None  # a fresh session needs none
    clock.advance(86400 + 1)
    assert attr(input_tag((await v.get("/account")).text, "current_password"), "required") is not None
    r = await v.submit("/account", "/account/email", {"new_email": "thief@example.com"})
    assert r.status_code == 403
    assert (
        field_error(r.text, "current_password") == "You signed in a while ago: enter your current password to do this."
    )
    assert attr(input_tag(r.text, "new_email"), "value") == "thief@example.com"
    r = await v.submit(
        "/account", "/account/email", {"new_email": "thief@example.com", "current_password": "wrong one!"}
    )
    assert r.status_code == 400 and field_error(r.text, "current_password") == "That is not your current password."
    assert "wrong one!" not in r.text
    assert app.mails("thief@example.com") == []
    r = await v.submit("/account", "/account/email", {"new_email": "ann.new@example.com", "current_password": PASSWORD})
    assert r.headers["location"] == "/account?notice=email-change-sent"
    assert len(app.mails("ann.new@example.com")) == 1
    await v.close()
