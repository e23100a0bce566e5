"""Password reset by a mailed, single-use link (spec §7.13, §6.6), over a real SMTP server."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from authkeeper.core.settings import LockoutSettings
from tests.conftest import ORIGIN, TestApp
from tests.flows._helpers import PASSWORD, Browser, error_of, query_of, set_cookie
from tests.smtp import SmtpServer, settle

pytestmark = pytest.mark.anyio

SUBJECT = "Reset your password"
NEW_PASSWORD = "a brand new passphrase"
ANSWER = {"status": True, "message": "If this email exists in our system, check your email for the reset link"}


async def mail_app(make_app: Callable[..., Any], smtp: SmtpServer, **overrides: Any) -> TestApp:
    app: TestApp = await make_app(mail=smtp.mail_settings(), **overrides)
    return app


async def request_reset(client: Browser, email: str = "ann@example.com", **extra: Any) -> httpx.Response:
    r = await client.post("/request-password-reset", {"email": email, **extra})
    assert r.status_code == 200, r.text
    return r


async def reset_link(smtp: SmtpServer, count: int = 1, to: str = "ann@example.com") -> str:
    mail = await smtp.wait_for_count(to, count, SUBJECT)
    assert mail.link is not None, mail.text
    return mail.link


def token_of(link: str) -> str:
    found = re.search(r"/reset-password/([^/?]+)", link)
    assert found, link
    return found.group(1)


# -- requesting a reset -------------------------------------------------------------------
async def test_known_and_unknown_emails_get_the_same_answer(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp)
    await app.sign_up()
    client = browser(app)
    known = await client.post("/request-password-reset", {"email": "ann@example.com"})
    unknown = await client.post("/request-password-reset", {"email": "nobody@example.com"})
    cased = await client.post("/request-password-reset", {"email": " ANN@Example.com "})
    for r in (known, unknown, cased):
        assert r.status_code == 200, r.text
        assert r.json() == ANSWER
        assert "set-cookie" not in r.headers
    assert known.content == unknown.content
    await settle(app)
    assert len(smtp.for_address("ann@example.com", SUBJECT)) == 2
    assert smtp.for_address("nobody@example.com") == []


async def test_the_reset_mail_over_smtp(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp)
    await app.sign_up()
    await request_reset(browser(app), redirectTo="/account/reset")
    mail = await smtp.wait_for("ann@example.com", SUBJECT)
    assert mail.content_type == "multipart/alternative" and mail.text and mail.html
    link = mail.link
    assert link is not None
    token = token_of(link)
    assert re.fullmatch(r"[A-Za-z0-9]{24}", token), token
    assert link == f"{ORIGIN}/api/auth/reset-password/{token}?callbackURL=%2Faccount%2Freset"
    assert html.escape(link, quote=True) in mail.html


async def test_the_reset_link_ignores_the_host_header(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp, base_url="https://auth.example.com", trusted_origins=(ORIGIN,))
    await app.sign_up()
    spoofing = browser(app, headers={"host": "evil.example.net", "x-forwarded-host": "evil.example.net"})
    await request_reset(spoofing, redirectTo="/reset")
    link = await reset_link(smtp)
    assert link.startswith("https://auth.example.com/api/auth/reset-password/"), link


async def test_an_untrusted_redirect_is_refused_and_nothing_is_sent(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp)
    await app.sign_up()
    await settle(app)
    before = len(smtp.for_address("ann@example.com"))
    for target in ("https://evil.example/reset", "//evil.example/reset"):
        r = await browser(app).post("/request-password-reset", {"email": "ann@example.com", "redirectTo": target})
        error_of(r, 403, "INVALID_REDIRECT_URL")
    await settle(app)
    assert len(smtp.for_address("ann@example.com")) == before


# -- the link -----------------------------------------------------------------------------
async def test_the_link_redirects_to_the_callback_with_the_token(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp)
    await app.sign_up()
    client = browser(app)
    await request_reset(client, redirectTo="/account/reset")
    link = await reset_link(smtp)
    token = token_of(link)
    r = await client.follow(link)
    assert r.status_code in (302, 303)
    assert r.headers["location"] == f"{ORIGIN}/account/reset?token={token}"
    # Following the link does not spend the token.
    r = await client.post("/reset-password", {"token": token, "newPassword": NEW_PASSWORD})
    assert r.status_code == 200 and r.json() == {"status": True}


async def test_an_invalid_token_redirects_with_the_error(app: TestApp, browser: Callable[..., Browser]) -> None:
    client = browser(app)
    r = await client.get("/reset-password/not-a-real-token", params={"callbackURL": "/account/reset"})
    assert r.status_code == 302
    assert r.headers["location"] == f"{ORIGIN}/account/reset?error=INVALID_TOKEN"
    r = await client.get("/reset-password/not-a-real-token", params={"callbackURL": "https://evil.example/"})
    error_of(r, 403, "INVALID_CALLBACK_URL")


# -- resetting ----------------------------------------------------------------------------
async def test_reset_changes_the_password_and_revokes_every_session(
    db_url: str, make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp, db_url=db_url)
    laptop = browser(app)
    await laptop.sign_up()
    phone = browser(app)
    await phone.sign_in()
    bearer = (await browser(app).sign_in()).json()["token"]
    stranger = browser(app)
    await request_reset(stranger)
    token = token_of(await reset_link(smtp))
    r = await stranger.post("/reset-password", {"token": token, "newPassword": NEW_PASSWORD})
    assert r.status_code == 200 and r.json() == {"status": True}
    assert set_cookie(r, "better-auth.session_token") is None  # a reset signs nobody in
    for b in (laptop, phone):
        assert await b.session() is None
        error_of(await b.get("/list-sessions"), 401, "UNAUTHORIZED")
    r = await stranger.get("/get-session", headers={"authorization": f"Bearer {bearer}"})
    assert r.json() is None
    error_of(
        await stranger.post("/sign-in/email", {"email": "ann@example.com", "password": PASSWORD}),
        401,
        "INVALID_EMAIL_OR_PASSWORD",
    )
    await stranger.sign_in(password=NEW_PASSWORD)
    # The same token again: spent.
    r = await stranger.post("/reset-password", {"token": token, "newPassword": "yet another passphrase"})
    error_of(r, 400, "INVALID_TOKEN")
    # The owner is told, without a link.
    notice = await smtp.wait_for("ann@example.com", "password was reset")
    assert notice.link is None and "every device was signed out" in notice.text


async def test_the_token_may_come_in_the_query(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp)
    await app.sign_up()
    client = browser(app)
    await request_reset(client)
    token = token_of(await reset_link(smtp))
    r = await client.post(f"/reset-password?token={token}", {"newPassword": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    await client.sign_in(password=NEW_PASSWORD)


async def test_a_missing_or_unknown_token_is_invalid_token(app: TestApp, browser: Callable[..., Browser]) -> None:
    await app.sign_up()
    client = browser(app)
    for body in (
        {"newPassword": NEW_PASSWORD},
        {"token": "", "newPassword": NEW_PASSWORD},
        {"token": "x" * 24, "newPassword": NEW_PASSWORD},
    ):
        body_json = error_of(await client.post("/reset-password", body), 400, "INVALID_TOKEN")
        assert body_json["message"] == "Invalid token"


async def test_a_reset_kills_the_older_reset_links(
    db_url: str, make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp, db_url=db_url)
    await app.sign_up()
    client = browser(app)
    await request_reset(client, redirectTo="/r")
    older = token_of(await reset_link(smtp, 1))
    await request_reset(client, redirectTo="/r")
    newer = token_of(await reset_link(smtp, 2))
    assert older != newer
    r = await client.post("/reset-password", {"token": newer, "newPassword": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    r = await client.get(f"/reset-password/{older}", params={"callbackURL": "/r"})
    assert r.headers["location"] == f"{ORIGIN}/r?error=INVALID_TOKEN"
    r = await client.post("/reset-password", {"token": older, "newPassword": "an older link's passphrase"})
    error_of(r, 400, "INVALID_TOKEN")
    await client.sign_in(password=NEW_PASSWORD)


async def test_an_expired_token_is_invalid(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp)
    await app.sign_up()
    client = browser(app)
    await request_reset(client, redirectTo="/r")
    link = await reset_link(smtp)
    start = app.ctx.now()
    app.ctx.clock = lambda: start + timedelta(seconds=3601)
    r = await client.follow(link)
    assert r.headers["location"] == f"{ORIGIN}/r?error=INVALID_TOKEN"
    r = await client.post("/reset-password", {"token": token_of(link), "newPassword": NEW_PASSWORD})
    error_of(r, 400, "INVALID_TOKEN")
    await client.sign_in()


async def test_twenty_concurrent_resets_with_one_token_succeed_once(
    db_url: str, make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp, db_url=db_url)
    await app.sign_up()
    client = browser(app)
    await request_reset(client)
    token = token_of(await reset_link(smtp))
    passwords = [f"concurrent passphrase {i:02d}" for i in range(20)]
    results = await asyncio.gather(
        *[client.post("/reset-password", {"token": token, "newPassword": p}) for p in passwords]
    )
    statuses = [r.status_code for r in results]
    assert statuses.count(200) == 1, statuses
    for r in results:
        if r.status_code != 200:
            error_of(r, 400, "INVALID_TOKEN")
    winner = passwords[statuses.index(200)]
    await client.sign_in(password=winner)
    for loser in passwords:
        if loser != winner:
            r = await client.post("/sign-in/email", {"email": "ann@example.com", "password": loser})
            error_of(r, 401, "INVALID_EMAIL_OR_PASSWORD")
            break


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short", "PASSWORD_TOO_SHORT"),
        ("x" * 129, "PASSWORD_TOO_LONG"),
        ("password123", "PASSWORD_TOO_COMMON"),
        ("ann@example.com", "PASSWORD_SAME_AS_EMAIL"),
        (" ANN@example.com ", "PASSWORD_SAME_AS_EMAIL"),
    ],
)
async def test_the_password_policy_applies_and_a_refused_password_keeps_the_link(
    make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser], password: str, code: str
) -> None:
    app = await mail_app(make_app, smtp)
    await app.sign_up()
    client = browser(app)
    await request_reset(client)
    token = token_of(await reset_link(smtp))
    error_of(await client.post("/reset-password", {"token": token, "newPassword": password}), 400, code)
    await client.sign_in()  # nothing changed
    r = await client.post("/reset-password", {"token": token, "newPassword": NEW_PASSWORD})
    assert r.status_code == 200, r.text


async def test_the_lockout_is_lifted_by_a_reset_and_by_nothing_less(
    db_url: str, make_app: Callable[..., Any], smtp: SmtpServer, browser: Callable[..., Browser]
) -> None:
    app = await mail_app(make_app, smtp, db_url=db_url, lockout=LockoutSettings(max_failures=3))
    await app.sign_up()
    client = browser(app)
    wrong = {"email": "ann@example.com", "password": "not the passphrase"}
    for _ in range(3):
        error_of(await client.post("/sign-in/email", wrong), 401, "INVALID_EMAIL_OR_PASSWORD")
    right = {"email": "ann@example.com", "password": PASSWORD}
    error_of(await client.post("/sign-in/email", right), 429, "ACCOUNT_LOCKED")
    # Asking for a link, following it and a refused new password change nothing.
    await request_reset(client, redirectTo="/r")
    link = await reset_link(smtp)
    assert (await client.follow(link)).status_code == 302
    token = query_of((await client.follow(link)).headers["location"])["token"]
    error_of(await client.post("/reset-password", {"token": token, "newPassword": "short"}), 400, "PASSWORD_TOO_SHORT")
    error_of(await client.post("/sign-in/email", right), 429, "ACCOUNT_LOCKED")
    r = await client.post("/reset-password", {"token": token, "newPassword": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    await client.sign_in(password=NEW_PASSWORD)
