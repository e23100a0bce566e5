"""Email verification over HTTP with mail delivered to a real SMTP server (spec §7.14, §6.6)."""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from authkeeper.core.changes import UserUpdate
from authkeeper.core.settings import EmailPasswordSettings, RateLimitSettings
from tests.conftest import ORIGIN, SECRET, TestApp
from tests.flows._helpers import (
    PASSWORD,
    Browser,
    error_of,
    path_and_query,
    query_of,
    set_cookie,
)
from tests.smtp import SmtpServer, settle

pytestmark = pytest.mark.anyio

SUBJECT = "Verify your email"


async def mail_app(make_app: Callable[..., Any], smtp: SmtpServer, **overrides: Any) -> TestApp:
    app: TestApp = await make_app(mail=smtp.mail_settings(), **overrides)
    return app


# -- the mail -----------------------------------------------------------------------------
async def test_sign_up_sends_a_verification_mail_with_text_and_html_over_smtp(
    make_app: Callable[..., Any], smtp: SmtpServer
) -> None:
    app = await mail_app(make_app, smtp)
    r = await app.sign_up()
    user = r.json()["user"]
    mail = await smtp.wait_for("ann@example.com", SUBJECT)
    assert mail.rcpt_tos == ("ann@example.com",)
    assert mail.content_type == "multipart/alternative"
    assert mail.text.strip() and mail.html.strip()
    link = mail.link
    assert link is not None and link.startswith(f"{ORIGIN}/api/auth/verify-email?token="), link
    assert html.escape(link, quote=True) in mail.html  # the same link in the HTML part
    q = query_of(link)
    assert q["callbackURL"] == "/"
    claims = jwt.decode(q["token"], SECRET, algorithms=["HS256"])
    assert claims["email"] == "ann@example.com" and claims["userId"] == user["id"]
    assert claims["exp"] - claims["iat"] == 3600


async def test_links_use_the_configured_base_url_whatever_the_host_header(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp, base_url="http://auth.example.com:8080", trusted_origins=(ORIGIN,))
    spoofing = browser(
        app, headers={"host": "evil.example.net", "x-forwarded-host": "evil.example.net", "x-forwarded-proto": "https"}
    )
    r = await spoofing.post("/sign-up/email", {"email": "ann@example.com", "password": PASSWORD, "name": "Ann"})
    assert r.status_code == 200, r.text
    first = await smtp.wait_for("ann@example.com", SUBJECT)
    spoofing.http.cookies.clear()
    r = await spoofing.post("/send-verification-email", {"email": "ann@example.com"})
    assert r.status_code == 200, r.text
    second = await smtp.wait_for_count("ann@example.com", 2, SUBJECT)
    for mail in (first, second):
        assert mail.link is not None and mail.link.startswith("http://auth.example.com:8080/api/auth/verify-email?"), (
            mail.link
        )
        assert "evil.example.net" not in mail.text and "evil.example.net" not in mail.html


# -- following the link -------------------------------------------------------------------
async def test_following_the_link_verifies_the_email(
    db_url: str, make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp, db_url=db_url)
    ann = browser(app)
    await ann.sign_up()
    session = await ann.session()
    assert session is not None and session["user"]["emailVerified"] is False
    mail = await smtp.wait_for("ann@example.com", SUBJECT)
    assert mail.link is not None
    r = await ann.follow(mail.link)
    assert r.status_code == 302 and r.headers["location"] == "/"  # callbackURL defaults to "/"
    session = await ann.session()
    assert session is not None and session["user"]["emailVerified"] is True
    # The link works from any browser (no session needed), and again: verifying is idempotent.
    r = await browser(app).follow(mail.link)
    assert r.status_code == 302
    user = await app.auth.store.find_user_by_email("ann@example.com")
    assert user is not None and user.email_verified


async def test_the_link_without_a_callback_answers_json(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp)
    await app.sign_up()
    mail = await smtp.wait_for("ann@example.com", SUBJECT)
    assert mail.link is not None
    r = await browser(app).get("/verify-email", params={"token": query_of(mail.link)["token"]})
    assert r.status_code == 200, r.text
    assert r.json() == {"status": True, "user": None}
    assert "set-cookie" not in r.headers  # no auto sign-in unless configured


@pytest.mark.parametrize("callback", ["/welcome", "/welcome?step=2", f"{ORIGIN}/welcome"])
async def test_the_link_redirects_to_the_callback_url(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser], callback: str
) -> None:
    app = await mail_app(make_app, smtp)
    await app.sign_up(callbackURL=callback)
    mail = await smtp.wait_for("ann@example.com", SUBJECT)
    assert mail.link is not None and query_of(mail.link)["callbackURL"] == callback
    r = await browser(app).follow(mail.link)
    assert r.status_code in (302, 303), r.text
    assert r.headers["location"] == callback
    user = await app.auth.store.find_user_by_email("ann@example.com")
    assert user is not None and user.email_verified


async def test_auto_sign_in_after_verification_sets_a_session(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(
        make_app,
        smtp,
        email_password=EmailPasswordSettings(require_email_verification=True, auto_sign_in_after_verification=True),
    )
    r = await app.sign_up()
    assert r.json()["token"] is None and set_cookie(r, "better-auth.session_token") is None
    mail = await smtp.wait_for("ann@example.com", SUBJECT)
    assert mail.link is not None
    other = browser(app)
    r = await other.follow(mail.link)
    assert r.status_code == 302
    assert set_cookie(r, "better-auth.session_token") is not None
    session = await other.session()
    assert session is not None and session["user"]["emailVerified"] is True


# -- refused callbacks and bad tokens -----------------------------------------------------
@pytest.mark.parametrize("callback", ["https://evil.example/steal", "//evil.example/x", "/\\evil.example"])
async def test_an_untrusted_callback_url_is_refused_when_the_mail_would_be_sent(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser], callback: str
) -> None:
    app = await mail_app(make_app, smtp)
    r = await app.post(
        "/sign-up/email", {"email": "ann@example.com", "password": PASSWORD, "name": "Ann", "callbackURL": callback}
    )
    error_of(r, 403, "INVALID_CALLBACK_URL")
    assert await app.auth.store.count_users() == 0
    await app.sign_up()
    await smtp.wait_for("ann@example.com", SUBJECT)
    r = await browser(app).post("/send-verification-email", {"email": "ann@example.com", "callbackURL": callback})
    error_of(r, 403, "INVALID_CALLBACK_URL")
    await settle(app)
    assert len(smtp.for_address("ann@example.com")) == 1


async def test_a_crafted_link_with_an_untrusted_callback_does_not_redirect(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp)
    await app.sign_up()
    mail = await smtp.wait_for("ann@example.com", SUBJECT)
    assert mail.link is not None
    token = query_of(mail.link)["token"]
    r = await browser(app).get("/verify-email", params={"token": token, "callbackURL": "https://evil.example/"})
    error_of(r, 403, "INVALID_CALLBACK_URL")
    assert "location" not in r.headers


def _garbled(token: str) -> list[str]:
    header, payload, signature = token.split(".")
    forged = jwt.encode(
        {"email": "ann@example.com", "exp": int(time.time()) + 600}, "another secret" * 3, algorithm="HS256"
    )
    return [
        "not-a-token",
        "",
        f"{header}.{payload}.{signature[:-4]}AAAA",  # bad signature
        f"{header}.{payload[:-2]}xx.{signature}",  # payload changed
        forged,  # signed with the wrong secret
        jwt.encode({"email": "ann@example.com", "exp": int(time.time()) + 600}, None, algorithm="none"),  # type: ignore[arg-type]  # unsigned; PyJWT needs key None for alg "none" but its annotation omits None
    ]


async def test_a_garbled_token_is_401_invalid_token_or_a_redirect_with_the_error(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp)
    await app.sign_up()
    mail = await smtp.wait_for("ann@example.com", SUBJECT)
    assert mail.link is not None
    client = browser(app)
    for bad in _garbled(query_of(mail.link)["token"]):
        r = await client.get("/verify-email", params={"token": bad})
        body = error_of(r, 401, "INVALID_TOKEN")
        assert body["message"] == "Invalid token"
        r = await client.get("/verify-email", params={"token": bad, "callbackURL": "/welcome?step=2"})
        assert r.status_code == 302, r.text
        assert path_and_query(r.headers["location"]) == "/welcome?step=2&error=INVALID_TOKEN"
    user = await app.auth.store.find_user_by_email("ann@example.com")
    assert user is not None and not user.email_verified


async def test_an_expired_link_is_token_expired(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp, email_password=EmailPasswordSettings(verification_expires_in=1))
    await app.sign_up()
    mail = await smtp.wait_for("ann@example.com", SUBJECT)
    assert mail.link is not None
    await asyncio.sleep(2.1)
    client = browser(app)
    r = await client.get("/verify-email", params={"token": query_of(mail.link)["token"]})
    error_of(r, 401, "TOKEN_EXPIRED")
    r = await client.follow(mail.link)
    assert r.status_code == 302 and r.headers["location"] == "/?error=TOKEN_EXPIRED"
    user = await app.auth.store.find_user_by_email("ann@example.com")
    assert user is not None and not user.email_verified


async def test_a_link_for_a_deleted_user_verifies_nothing(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp)
    r = await app.sign_up()
    mail = await smtp.wait_for("ann@example.com", SUBJECT)
    assert mail.link is not None
    assert (await app.post("/delete-user", {"password": PASSWORD})).status_code == 200
    # Someone else signs up with the address: the old link names the old user id.
    await browser(app).sign_up(name="Not Ann")
    r = await browser(app).follow(mail.link)
    assert r.status_code == 302 and r.headers["location"] == "/?error=USER_NOT_FOUND"
    user = await app.auth.store.find_user_by_email("ann@example.com")
    assert user is not None and user.name == "Not Ann" and not user.email_verified


# -- require_email_verification -----------------------------------------------------------
async def test_required_verification_blocks_sign_in_until_the_link_is_followed(
    db_url: str, make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(
        make_app, smtp, db_url=db_url, email_password=EmailPasswordSettings(require_email_verification=True)
    )
    r = await app.sign_up()
    assert r.json()["token"] is None
    assert set_cookie(r, "better-auth.session_token") is None
    mail = await smtp.wait_for("ann@example.com", SUBJECT)
    ann = browser(app)
    r = await ann.post("/sign-in/email", {"email": "ann@example.com", "password": PASSWORD})
    body = error_of(r, 403, "EMAIL_NOT_VERIFIED")
    assert body["message"] == "Email not verified"
    assert set_cookie(r, "better-auth.session_token") is None
    # A wrong password says nothing about the verification state, and sends nothing.
    r = await ann.post("/sign-in/email", {"email": "ann@example.com", "password": "not the passphrase"})
    error_of(r, 401, "INVALID_EMAIL_OR_PASSWORD")
    await settle(app)
    assert len(smtp.for_address("ann@example.com")) == 1  # send_verification_on_sign_in is off
    assert mail.link is not None
    assert (await ann.follow(mail.link)).status_code == 302
    r = await ann.sign_in()
    session = await ann.session()
    assert session is not None and session["user"]["emailVerified"] is True


async def test_refused_sign_in_mails_a_new_link_when_configured(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(
        make_app,
        smtp,
        email_password=EmailPasswordSettings(require_email_verification=True, send_verification_on_sign_in=True),
    )
    await app.sign_up()
    await smtp.wait_for("ann@example.com", SUBJECT)
    ann = browser(app)
    r = await ann.post("/sign-in/email", {"email": "ann@example.com", "password": PASSWORD, "callbackURL": "/home"})
    error_of(r, 403, "EMAIL_NOT_VERIFIED")
    mail = await smtp.wait_for_count("ann@example.com", 2, SUBJECT)
    assert mail.link is not None and query_of(mail.link)["callbackURL"] == "/home"
    r = await ann.follow(mail.link)
    assert r.status_code == 302 and r.headers["location"] == "/home"
    await ann.sign_in()


@pytest.mark.parametrize(
    "settings",
    [EmailPasswordSettings(require_email_verification=True), EmailPasswordSettings(auto_sign_in=False)],
    ids=["require_email_verification", "no_auto_sign_in"],
)
async def test_sign_up_of_a_taken_email_reveals_nothing_when_no_session_is_issued(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser], settings: EmailPasswordSettings
) -> None:
    """Spec §6.6: when sign-up issues no session, a duplicate sign-up answers like a new one
    (and only the address's owner is told, with no link in the mail)."""
    app = await mail_app(make_app, smtp, email_password=settings)
    first = await app.sign_up()
    await smtp.wait_for("ann@example.com", SUBJECT)
    again = await browser(app).post(
        "/sign-up/email", {"email": "ann@example.com", "password": "another passphrase", "name": "Ann"}
    )
    assert again.status_code == first.status_code == 200, again.text
    a, b = first.json(), again.json()
    assert a["token"] is None and b["token"] is None
    assert set(a["user"]) == set(b["user"])
    assert b["user"]["id"] != a["user"]["id"] and b["user"]["email"] == "ann@example.com"
    assert await app.auth.store.count_users() == 1
    await settle(app)
    mails = smtp.for_address("ann@example.com")
    assert len(mails) == 2
    assert mails[1].subject == "Someone tried to sign up to authkeeper with your address"
    assert mails[1].link is None and "no account was created" in mails[1].text
    # Once an hour at most: repeated attempts cannot flood the owner's mailbox.
    again = await browser(app).post(
        "/sign-up/email", {"email": "ann@example.com", "password": "a third passphrase", "name": "Ann"}
    )
    assert again.status_code == 200
    await settle(app)
    assert len(smtp.for_address("ann@example.com")) == 2
    # The original password still holds; the second one gained nothing.
    await app.auth.store.update_user(a["user"]["id"], UserUpdate(email_verified=True))
    r = await browser(app).post("/sign-in/email", {"email": "ann@example.com", "password": "another passphrase"})
    error_of(r, 401, "INVALID_EMAIL_OR_PASSWORD")


# -- send-verification-email --------------------------------------------------------------
async def test_send_verification_email_signed_out_gives_one_answer_for_everyone(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp)
    await app.sign_up("ann@example.com")
    await app.sign_up("bob@example.com", name="Bob")
    await settle(app)
    bob = await app.auth.store.find_user_by_email("bob@example.com")
    assert bob is not None
    await app.auth.store.update_user(bob.id, UserUpdate(email_verified=True))
    before = {to: len(smtp.for_address(to)) for to in ("ann@example.com", "bob@example.com")}
    stranger = browser(app)
    answers = []
    for email in ("ann@example.com", "bob@example.com", "nobody@example.com"):
        started = time.monotonic()
        r = await stranger.post("/send-verification-email", {"email": email})
        elapsed = time.monotonic() - started
        answers.append((r.status_code, r.json()))
        assert elapsed >= 0.45, (email, elapsed)  # the same floor whether or not the user exists
    assert answers == [(200, {"status": True})] * 3
    await settle(app)
    assert len(smtp.for_address("ann@example.com")) == before["ann@example.com"] + 1  # unverified: a new link
    assert len(smtp.for_address("bob@example.com")) == before["bob@example.com"]  # verified: nothing
    assert smtp.for_address("nobody@example.com") == []


async def test_send_verification_email_signed_in(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp)
    ann = browser(app)
    await ann.sign_up(callbackURL="/first")
    await smtp.wait_for("ann@example.com", SUBJECT)
    r = await ann.post("/send-verification-email", {"email": "someone.else@example.com"})
    error_of(r, 400, "EMAIL_MISMATCH")
    r = await ann.post("/send-verification-email", {"email": "ANN@example.com", "callbackURL": "/again"})
    assert r.status_code == 200 and r.json() == {"status": True}
    mail = await smtp.wait_for_count("ann@example.com", 2, SUBJECT)
    assert mail.link is not None and query_of(mail.link)["callbackURL"] == "/again"
    assert (await ann.follow(mail.link)).headers["location"] == "/again"
    r = await ann.post("/send-verification-email", {"email": "ann@example.com"})
    error_of(r, 400, "EMAIL_ALREADY_VERIFIED")
    await settle(app)
    assert len(smtp.for_address("someone.else@example.com")) == 0
    assert len(smtp.for_address("ann@example.com")) == 2


async def test_send_verification_email_is_rate_limited_to_three_a_minute(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp, rate_limit=RateLimitSettings())
    await app.sign_up()
    await smtp.wait_for("ann@example.com", SUBJECT)
    client = browser(app)
    for _ in range(3):
        r = await client.post("/send-verification-email", {"email": "ann@example.com"})
        assert r.status_code == 200, r.text
    r = await client.post("/send-verification-email", {"email": "ann@example.com"})
    error_of(r, 429, "TOO_MANY_REQUESTS")
    assert 1 <= int(r.headers["retry-after"]) <= 60
    # An unknown address is limited the same way (the limit is per client, not per user).
    r = await client.post("/send-verification-email", {"email": "nobody@example.com"})
    error_of(r, 429, "TOO_MANY_REQUESTS")
    await settle(app)
    assert len(smtp.for_address("ann@example.com")) == 4  # sign-up + three
