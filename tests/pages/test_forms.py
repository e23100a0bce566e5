"""The sign-in side of the pages, in-process: field errors next to their fields (from the
stable error codes), values kept but never a password, focus on the first error; mailed
links that land on the pages; re-authentication for pages that need a fresh session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from authkeeper.core.settings import EmailPasswordSettings, SessionSettings
from tests.conftest import ORIGIN
from tests.pages.helpers import (
    PASSWORD,
    Visitor,
    attr,
    field_error,
    form_alert,
    input_tag,
    make_user,
    notice,
    text,
    title,
)

pytestmark = pytest.mark.anyio


async def test_sign_up_errors_sit_next_to_their_field(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    v = Visitor(app)
    cases = [
        (
            {"name": "Ann", "email": "not-an-email", "password": PASSWORD},
            "email",
            "Enter an email address like name@example.com.",
        ),
        ({"name": "Ann", "email": "ann@example.com", "password": "short"}, "password", "Use at least 8 characters."),
        (
            {"name": "Ann", "email": "ann@example.com", "password": "password123"},
            "password",
            "This password is too common and easy to guess. Choose another.",
        ),
        (
            {"name": "Ann", "email": "ann@example.com", "password": "ann@example.com"},
            "password",
            "Your password must not be your email address.",
        ),
        (
            {"name": "A" * 300, "email": "ann@example.com", "password": PASSWORD},
            "name",
            "Too long: at most 255 characters.",
        ),
    ]
    for data, field, message in cases:
        r = await v.submit("/sign-up", "/sign-up", data)
        assert r.status_code in (400, 422), r.status_code
        assert field_error(r.text, field) == message, (field, r.text)
        tag = input_tag(r.text, field)
        assert attr(tag, "aria-invalid") == "true" and attr(tag, "autofocus") is not None
        assert f"f-{field}-error" in (attr(tag, "aria-describedby") or "")
        # Every other field is neither invalid nor focused; entered values stay, the password never.
        for other in ("name", "email", "password"):
            if other != field:
                assert attr(input_tag(r.text, other), "aria-invalid") is None
                assert attr(input_tag(r.text, other), "autofocus") is None
        if field != "name":
            assert attr(input_tag(r.text, "name"), "value") == data["name"]
        if field != "email":
            assert attr(input_tag(r.text, "email"), "value") == data["email"]
        assert attr(input_tag(r.text, "password"), "value") is None
        assert data["password"] not in r.text or data["password"] in (data["email"], data["name"])
    assert await app.ctx.store.find_user_by_email("ann@example.com") is None
    await v.sign_up()
    r = await v.http.post(
        "/sign-up", data={"csrf_token": await Visitor(app).token("/sign-up")}, headers={"origin": ORIGIN}
    )
    assert r.status_code == 403  # another visitor's token
    second = Visitor(app)
    r = await second.submit("/sign-up", "/sign-up", {"name": "Ann 2", "email": "ANN@example.com", "password": PASSWORD})
    assert field_error(r.text, "email") == "An account with this email already exists. Sign in, or use another email."
    await v.close()
    await second.close()


async def test_inputs_have_labels_and_autocomplete(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    v = Visitor(app)
    page = (await v.get("/sign-up")).text
    for name, auto, kind in (
        ("name", "name", "text"),
        ("email", "email", "email"),
        ("password", "new-password", "password"),
    ):
        tag = input_tag(page, name)
        assert attr(tag, "autocomplete") == auto and attr(tag, "type") == kind
        assert f'<label for="f-{name}">' in page
    page = (await v.get("/sign-in")).text
    assert attr(input_tag(page, "password"), "autocomplete") == "current-password"
    assert attr(input_tag(page, "email"), "autocomplete") == "email"
    await v.close()


async def test_sign_in_errors_keep_the_email_only(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    await make_user(app, "ann@example.com")
    v = Visitor(app)
    r = await v.sign_in(password="not the password")
    assert r.status_code == 400
    assert form_alert(r.text, "sign-in") == "That email and password do not match. Check them and try again."
    assert attr(input_tag(r.text, "email"), "value") == "ann@example.com"
    assert attr(input_tag(r.text, "email"), "autofocus") is not None
    assert "not the password" not in r.text
    r = await v.sign_in(email="nope")
    assert field_error(r.text, "email") == "Enter an email address like name@example.com."
    await v.close()


async def test_unverified_sign_in_offers_a_new_link(make_app: Callable[..., Any]) -> None:
    app = await make_app(email_password=EmailPasswordSettings(require_email_verification=True))
    v = Visitor(app)
    r = await v.sign_up()
    assert r.headers["location"] == "/sign-in?notice=signed-up-verify"
    page = (await v.get(r.headers["location"])).text
    assert notice(page) == "Your account is created. We sent you a link to confirm your email address."
    r = await v.sign_in()
    assert form_alert(r.text, "sign-in") == "Confirm your email address first: follow the link we sent you."
    assert 'href="/verify-email/resend"' in r.text
    # The mailed link goes through the API and lands on the verification page.
    link = app.mails("ann@example.com")[-1].url
    assert parse_qs(urlsplit(link).query)["callbackURL"] == ["/verify-email"]
    r = await v.get(link.replace(ORIGIN, ""))
    assert r.status_code == 302 and r.headers["location"] == "/verify-email"
    landing = await v.get("/verify-email")
    assert "Email address confirmed" in title(landing.text)
    assert (await v.sign_in()).headers["location"] == "/account"
    # A used or broken link lands on the page with a plain explanation.
    r = await v.get(app.api("/verify-email"), params={"token": "garbage", "callbackURL": "/verify-email"})
    assert r.headers["location"] == "/verify-email?error=INVALID_TOKEN"
    landing = await v.get(r.headers["location"])
    assert landing.status_code == 400 and "This link does not work" in landing.text
    assert "It may have expired or been used already" in landing.text
    await v.close()


async def test_resend_verification_signed_out(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    await make_user(app, "ann@example.com")
    v = Visitor(app)
    r = await v.submit("/verify-email/resend", "/verify-email/resend", {"email": "ann@example.com"})
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?notice=check-email-verify"
    assert app.mails("ann@example.com")[-1].subject == "Verify your email address"
    # Unknown addresses get the same answer and no mail.
    r = await v.submit("/verify-email/resend", "/verify-email/resend", {"email": "nobody@example.com"})
    assert r.headers["location"] == "/sign-in?notice=check-email-verify"
    assert app.mails("nobody@example.com") == []
    await v.close()


async def test_forgot_and_reset_through_the_mailed_link(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    await make_user(app, "ann@example.com")
    signed_in = Visitor(app)
    await signed_in.sign_in()
    v = Visitor(app)
    for email in ("ann@example.com", "nobody@example.com"):
        r = await v.submit("/forgot-password", "/forgot-password", {"email": email})
        assert r.status_code == 303 and r.headers["location"] == "/forgot-password?notice=reset-sent"
    assert app.mails("nobody@example.com") == []
    link = app.mails("ann@example.com")[-1].url
    r = await v.get(link.replace(ORIGIN, ""))
    location = r.headers["location"]
    assert location.startswith(f"{ORIGIN}/reset-password?token=")
    page = await v.get(location.replace(ORIGIN, ""))
    assert page.status_code == 200 and 'name="token"' in page.text
    token = parse_qs(urlsplit(location).query)["token"][0]
    # A refused password keeps the link usable.
    r = await v.submit(location.replace(ORIGIN, ""), "/reset-password", {"token": token, "password": "short"})
    assert field_error(r.text, "password") == "Use at least 8 characters." and f'value="{token}"' in r.text
    r = await v.submit(
        location.replace(ORIGIN, ""), "/reset-password", {"token": token, "password": "a brand new passphrase"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?notice=password-reset"
    assert await signed_in.session() is None  # every session ended
    assert (await v.sign_in(password="a brand new passphrase")).headers["location"] == "/account"
    # The link works once.
    r = await v.get(link.replace(ORIGIN, ""))
    assert r.headers["location"].endswith("/reset-password?error=INVALID_TOKEN")
    page = await v.get("/reset-password?error=INVALID_TOKEN")
    assert page.status_code == 400 and "This link does not work" in page.text
    r = await v.submit("/forgot-password", "/reset-password", {"token": token, "password": "another passphrase"})
    assert r.status_code == 400 and "This link does not work" in r.text
    await v.close()
    await signed_in.close()


async def test_pages_needing_a_fresh_session_ask_for_the_password(make_app: Callable[..., Any]) -> None:
    app = await make_app(session=SessionSettings(fresh_age=60))
    await make_user(app, "ann@example.com")
    v = Visitor(app)
    await v.sign_in()
    assert (await v.get("/account/sessions")).status_code == 200
    # An hour later the session is no longer fresh.
    from datetime import timedelta

    old = (await v.session())["session"]["token"]
    later = app.ctx.now() + timedelta(hours=1)
    app.ctx.clock = lambda: later
    r = await v.get("/account/sessions")
    assert r.status_code == 303 and r.headers["location"] == "/reauth?next=%2Faccount%2Fsessions"
    page = await v.get(r.headers["location"])
    assert "Confirm it is you" in title(page.text) and 'name="next" value="/account/sessions"' in page.text
    r = await v.submit(
        "/reauth?next=%2Faccount%2Fsessions", "/reauth", {"password": "wrong password", "next": "/account/sessions"}
    )
    assert field_error(r.text, "password") == "That is not your current password."
    r = await v.submit(
        "/reauth?next=%2Faccount%2Fsessions", "/reauth", {"password": PASSWORD, "next": "/account/sessions"}
    )
    assert r.status_code == 303 and r.headers["location"] == "/account/sessions"
    assert (await v.get("/account/sessions")).status_code == 200
    # The old session was replaced by the new, fresh one.
    assert (await v.session())["session"]["token"] != old
    assert await app.ctx.store.find_session(old) is None
    await v.close()


async def test_sign_out_page_works_without_javascript(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    v = Visitor(app)
    await v.sign_up()
    page = await v.get("/sign-out")
    assert page.status_code == 200 and '<form method="post" action="/sign-out"' in page.text
    r = await v.submit("/sign-out", "/sign-out", {})
    assert r.headers["location"] == "/sign-in?notice=signed-out"
    assert (await v.get("/sign-out")).headers["location"] == "/sign-in"
    assert text((await v.get("/sign-in?notice=<b>x</b>")).text).count("x</b>") == 0
    await v.close()
