"""The challenge page offers exactly the user's second factors: no emailed code to a user who
enrolled only an authenticator app (the pages follow the plugin's rule, stricter than Better
Auth), no app to a user of emailed codes, no backup code to a user who has none."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.pages.helpers import PASSWORD, Visitor, form_alert
from tests.plugins.two_factor.helpers import enroll, freeze

pytestmark = pytest.mark.anyio

APP_LINK = "Use your authenticator app"
EMAIL_LINK = "Get a code by email"
BACKUP_LINK = "Use a backup code"
SEND = "Email me a code"


async def _challenge(app: Any) -> Visitor:
    v = Visitor(app)
    r = await v.sign_in()
    assert r.headers["location"] == "/two-factor", r.text
    return v


async def test_a_totp_users_challenge_page_offers_no_emailed_code(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    v = await _challenge(app)
    page = (await v.get("/two-factor")).text
    assert "authenticator app" in page and SEND not in page and EMAIL_LINK not in page
    assert BACKUP_LINK in page
    # Asking for the emailed code's form gets the app's.
    page = (await v.get("/two-factor?method=otp")).text
    assert SEND not in page and 'name="method" value="totp"' in page
    # Forged posts: no mail, the page says why, the challenge lives on.
    mails = len(app.mails("ann@example.com"))
    r = await v.submit("/two-factor", "/two-factor/send-code", {})
    assert r.status_code == 400 and form_alert(r.text, "challenge"), r.text
    r = await v.submit("/two-factor", "/two-factor", {"method": "otp", "code": "123456"})
    assert r.status_code == 400 and form_alert(r.text, "challenge"), r.text
    assert len(app.mails("ann@example.com")) == mails
    r = await v.submit(
        "/two-factor?method=backup", "/two-factor", {"method": "backup", "code": enrolled.backup_codes[0]}
    )
    assert r.headers["location"] == "/account", r.text
    page = (await v.get("/account/security")).text
    assert "from your authenticator app (or a backup code)" in page and "or one we email you" not in page
    assert "Also accept codes by email" in page
    await v.close()


async def test_an_email_code_users_challenge_page_offers_only_the_emailed_code(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    freeze(app)
    await app.sign_up("ann@example.com", PASSWORD)
    r = await app.post("/two-factor/enable", {"password": PASSWORD, "method": "otp"})
    assert r.status_code == 200, r.text
    v = await _challenge(app)
    for path in ("/two-factor", "/two-factor?method=totp", "/two-factor?method=backup"):
        page = (await v.get(path)).text
        assert SEND in page, path
        assert APP_LINK not in page and BACKUP_LINK not in page and EMAIL_LINK not in page, path
    await v.close()


async def test_a_challenge_page_of_both_methods_offers_both(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    clock = freeze(app)
    await enroll(app, clock)
    r = await app.post("/two-factor/enable", {"password": PASSWORD, "method": "otp"})
    assert r.status_code == 200, r.text
    v = await _challenge(app)
    page = (await v.get("/two-factor")).text
    assert EMAIL_LINK in page and BACKUP_LINK in page and SEND not in page
    page = (await v.get("/two-factor?method=otp")).text
    assert SEND in page and APP_LINK in page
    r = await v.submit("/two-factor?method=otp", "/two-factor/send-code", {})
    assert r.status_code == 303, r.text
    code = re.search(r"\b(\d{6})\b", app.mails("ann@example.com")[-1].text).group(1)  # type: ignore[union-attr]
    r = await v.submit("/two-factor?method=otp", "/two-factor", {"method": "otp", "code": code})
    assert r.headers["location"] == "/account"
    assert "from your authenticator app or one we email you" in (await v.get("/account/security")).text
    await v.close()
