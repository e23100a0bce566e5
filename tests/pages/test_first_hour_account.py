"""Account pages and mails a new user reads (issue "The first hour"): forms hidden while an
administrator acts as the user, how many backup codes are left, "Send again" once a code
was emailed, and mail lifetimes in words ("30 seconds", "1 hour 30 minutes")."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pytest

from authkeeper.core.settings import EmailPasswordSettings
from authkeeper.plugins.two_factor import TwoFactorSettings, backup_codes
from tests.pages.helpers import PASSWORD, Visitor, make_user, text
from tests.plugins.two_factor.helpers import enroll, freeze, user_id

pytestmark = pytest.mark.anyio

FORMS = {
    "/account": ('action="/account/email"',),
    "/account/security": (
        'action="/account/password"',
        'action="/account/two-factor/enable"',
        'action="/account/delete"',
    ),
}
WHY = "You are acting as another user: their email, password, two-factor authentication and deletion stay as they are."


async def test_impersonation_hides_the_forms_that_cannot_work(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    await make_user(app, "root@example.com", name="Root", role="admin")
    ann = await make_user(app, "ann@example.com", name="Ann")
    admin = Visitor(app)
    assert (await admin.sign_in("root@example.com")).headers["location"] == "/account"
    # Their own pages show every form.
    for path, forms in FORMS.items():
        page = (await admin.get(path)).text
        assert all(f in page for f in forms), path
        assert WHY not in text(page)
    r = await admin.submit(f"/admin/users/{ann.id}", f"/admin/users/{ann.id}/impersonate", {})
    assert r.headers["location"] == "/account"
    for path, forms in FORMS.items():
        page = (await admin.get(path)).text
        assert not [f for f in forms if f in page], path
        assert text(page).count(WHY) == 1, path
        assert 'action="/account/profile"' in page or path != "/account"  # the profile stays
    await admin.close()


async def test_impersonation_hides_two_factor_forms_of_an_enrolled_user(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    clock = freeze(app)
    await enroll(app, clock)
    await make_user(app, "root@example.com", name="Root", role="admin")
    admin = Visitor(app)
    await admin.sign_in("root@example.com")
    uid = await user_id(app)
    await admin.submit(f"/admin/users/{uid}", f"/admin/users/{uid}/impersonate", {})
    page = (await admin.get("/account/security")).text
    for action in (
        "/account/two-factor/backup-codes",
        "/account/two-factor/disable",
        "/account/two-factor/enable",
        "/account/password",
        "/account/delete",
    ):
        assert f'action="{action}"' not in page, action
    assert text(page).count(WHY) == 1
    await admin.close()


def _left(page: str) -> str | None:
    found = re.search(r'<p class="codes-left[^"]*"[^>]*>(.*?)</p>', page, re.DOTALL)
    return text(found.group(1)) if found else None


async def test_backup_codes_left_and_the_warning(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    uid = await user_id(app)
    v = Visitor(app)
    r = await v.sign_in()
    assert r.headers["location"] == "/two-factor"
    r = await v.submit(
        "/two-factor?method=backup", "/two-factor", {"method": "backup", "code": enrolled.backup_codes[0]}
    )
    assert r.headers["location"] == "/account"
    security = (await v.get("/account/security")).text
    assert _left(security) == "9 backup codes left."
    assert 'class="codes-left codes-low"' not in security
    assert "backup code" not in text((await v.get("/account")).text).lower()
    for code in enrolled.backup_codes[1:7]:
        assert await backup_codes.use(app.ctx, uid, code, None)
    security = (await v.get("/account/security")).text
    assert _left(security) == "3 backup codes left."
    assert await backup_codes.use(app.ctx, uid, enrolled.backup_codes[7], None)
    for path in ("/account/security", "/account"):
        page = (await v.get(path)).text
        assert 'class="codes-left codes-low"' in page, path
        assert _left(page) == "Only 2 backup codes left. Get a new set before you run out.", path
    assert await backup_codes.use(app.ctx, uid, enrolled.backup_codes[8], None)
    assert _left((await v.get("/account")).text) == "Only 1 backup code left. Get a new set before you run out."
    assert await backup_codes.use(app.ctx, uid, enrolled.backup_codes[9], None)
    assert _left((await v.get("/account/security")).text) == "No backup codes left. Get a new set before you run out."
    # A new set: ten again, no warning.
    r = await v.submit("/account/security", "/account/two-factor/backup-codes", {"codes_password": PASSWORD})
    assert r.status_code == 200
    security = (await v.get("/account/security")).text
    assert _left(security) == "10 backup codes left."
    assert _left((await v.get("/account")).text) is None
    await v.close()


async def test_the_email_code_button_becomes_send_again(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    freeze(app)
    await app.sign_up("ann@example.com", PASSWORD)
    r = await app.post("/two-factor/enable", {"password": PASSWORD, "method": "otp"})
    assert r.status_code == 200, r.text
    v = Visitor(app)
    assert (await v.sign_in()).headers["location"] == "/two-factor"
    page = (await v.get("/two-factor")).text
    assert ">Email me a code</button>" in page and "Send again" not in page
    r = await v.submit("/two-factor", "/two-factor/send-code", {})
    assert r.status_code == 303
    page = (await v.get(r.headers["location"])).text
    assert ">Send again</button>" in page and "Email me a code" not in page
    await v.close()


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(30, "30 seconds"), (60, "1 minute"), (90, "1 minute 30 seconds"), (3600, "1 hour"), (5400, "1 hour 30 minutes")],
)
async def test_reset_mail_says_how_long_the_link_lasts(make_app: Callable[..., Any], seconds: int, words: str) -> None:
    app = await make_app(email_password=EmailPasswordSettings(reset_token_expires_in=seconds))
    await app.sign_up("ann@example.com", PASSWORD)
    v = Visitor(app)
    r = await v.submit("/forgot-password", "/forgot-password", {"email": "ann@example.com"})
    assert r.status_code == 303, r.text
    mail = app.mails("ann@example.com")[-1]
    assert f"expires in {words}." in " ".join(mail.text.split()), mail.text
    await v.close()


@pytest.mark.parametrize(
    ("seconds", "words"), [(30, "30 seconds"), (60, "1 minute"), (300, "5 minutes"), (150, "2 minutes 30 seconds")]
)
async def test_code_mail_says_how_long_the_code_lasts(make_app: Callable[..., Any], seconds: int, words: str) -> None:
    app = await make_app(two_factor=dataclasses.replace(TwoFactorSettings(), otp_expires_in=seconds))
    freeze(app)
    await app.sign_up("ann@example.com", PASSWORD)
    r = await app.post("/two-factor/enable", {"password": PASSWORD, "method": "otp"})
    assert r.status_code == 200, r.text
    v = Visitor(app)
    await v.sign_in()
    r = await v.submit("/two-factor", "/two-factor/send-code", {})
    assert r.status_code == 303
    mail = app.mails("ann@example.com")[-1]
    assert f"It expires in {words} and works once." in " ".join(mail.text.split()), mail.text
    await v.close()
