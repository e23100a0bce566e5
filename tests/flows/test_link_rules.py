"""Mailed links do not outlive the reason they were sent (Hardening I, items 9 and 12).

- A password change by any route (change-password, a reset, an admin setting it) kills every
  outstanding reset, change-email and delete-account link of the user.
- A new link of a kind kills the user's older ones of that kind.
- A verification link signs in at most once, and never for an address already verified.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from authkeeper.core.ports import AuditQuery
from authkeeper.core.settings import (
    EmailPasswordSettings,
    RateLimitSettings,
    UserSettings,
)
from authkeeper.plugins.admin import flows as admin_flows
from tests.conftest import TestApp
from tests.flows._helpers import PASSWORD, Browser, error_of, set_cookie

pytestmark = pytest.mark.anyio

NEW_PASSWORD = "another fine passphrase"
SESSION = "better-auth.session_token"


async def quiet_app(make_app: Callable[..., Any], **overrides: Any) -> TestApp:
    app: TestApp = await make_app(rate_limit=RateLimitSettings(enabled=False), **overrides)
    return app


def last_link(app: TestApp, to: str, subject: str) -> str:
    found = [m for m in app.mails(to) if subject in m.subject]
    assert found, [m.subject for m in app.mails(to)]
    assert found[-1].url is not None
    return str(found[-1].url)


def reset_token(link: str) -> str:
    return urlsplit(link).path.rsplit("/", 1)[-1]


async def mail_reset(b: Browser, email: str = "ann@example.com") -> None:
    r = await b.post("/request-password-reset", {"email": email, "redirectTo": "/reset"})
    assert r.status_code == 200, r.text


async def reset(b: Browser, token: str, password: str = NEW_PASSWORD) -> Any:
    return await b.post("/reset-password", {"token": token, "newPassword": password})


# -- item 12: a password change kills every outstanding link ------------------------------------
async def test_a_reset_link_dies_when_the_password_is_changed(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await quiet_app(make_app)
    ann = browser(app)
    await ann.sign_up()
    await mail_reset(browser(app))
    stale = reset_token(last_link(app, "ann@example.com", "Reset your password"))
    r = await ann.post("/change-password", {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    error_of(await reset(browser(app), stale, "a third fine passphrase"), 400, "INVALID_TOKEN")
    await browser(app).sign_in(password=NEW_PASSWORD)


async def test_a_reset_link_dies_when_an_admin_sets_the_password(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await quiet_app(make_app)
    user = (await browser(app).sign_up()).json()["user"]
    await mail_reset(browser(app))
    stale = reset_token(last_link(app, "ann@example.com", "Reset your password"))
    await admin_flows.set_user_password(app.ctx, admin_flows.operator(app.ctx), user["id"], NEW_PASSWORD)
    error_of(await reset(browser(app), stale, "a third fine passphrase"), 400, "INVALID_TOKEN")


async def test_a_new_reset_link_kills_the_older_one(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await quiet_app(make_app)
    await browser(app).sign_up()
    await mail_reset(browser(app))
    first = reset_token(last_link(app, "ann@example.com", "Reset your password"))
    await mail_reset(browser(app))
    second = reset_token(last_link(app, "ann@example.com", "Reset your password"))
    assert first != second
    error_of(await reset(browser(app), first), 400, "INVALID_TOKEN")
    r = await reset(browser(app), second)
    assert r.status_code == 200, r.text


async def test_a_change_email_link_dies_with_a_password_reset(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await quiet_app(make_app)
    ann = browser(app)
    await ann.sign_up()
    r = await ann.post("/change-email", {"newEmail": "attacker@example.com", "password": PASSWORD})
    assert r.status_code == 200, r.text
    stale = last_link(app, "attacker@example.com", "Confirm your new email")
    await mail_reset(browser(app))
    r = await reset(browser(app), reset_token(last_link(app, "ann@example.com", "Reset your password")))
    assert r.status_code == 200, r.text
    r = await browser(app).follow(stale)
    assert r.status_code in (302, 400, 401), r.text
    assert await app.ctx.store.find_user_by_email("attacker@example.com") is None
    assert await app.ctx.store.find_user_by_email("ann@example.com") is not None


async def test_a_new_change_email_link_kills_the_older_one(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await quiet_app(make_app)
    ann = browser(app)
    await ann.sign_up()
    for address in ("first@example.com", "second@example.com"):
        r = await ann.post("/change-email", {"newEmail": address, "password": PASSWORD})
        assert r.status_code == 200, r.text
    await browser(app).follow(last_link(app, "first@example.com", "Confirm your new email"))
    assert await app.ctx.store.find_user_by_email("first@example.com") is None
    await browser(app).follow(last_link(app, "second@example.com", "Confirm your new email"))
    assert await app.ctx.store.find_user_by_email("second@example.com") is not None


async def test_delete_links_one_at_a_time_and_none_after_a_password_change(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await quiet_app(make_app, user=UserSettings(delete_confirm_by_email=True))
    ann = browser(app)
    await ann.sign_up()
    links = []
    for _ in range(2):
        r = await ann.post("/delete-user", {"password": PASSWORD})
        assert r.json()["message"] == "Verification email sent", r.text
        links.append(last_link(app, "ann@example.com", "Confirm account deletion"))
    assert links[0] != links[1]
    r = await ann.post("/change-password", {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    for link in links:  # the first killed by the second, the second by the password change
        r = await ann.follow(link)
        assert r.status_code == 404, r.text
    assert await app.ctx.store.find_user_by_email("ann@example.com") is not None


# -- item 9: a verification link signs in at most once ---------------------------------------
async def verifying_app(make_app: Callable[..., Any]) -> TestApp:
    return await quiet_app(
        make_app,
        email_password=EmailPasswordSettings(require_email_verification=True, auto_sign_in_after_verification=True),
    )


async def test_a_verification_link_signs_in_once(make_app: Callable[..., Any], browser: Callable[..., Browser]) -> None:
    app = await verifying_app(make_app)
    await browser(app).sign_up()
    link = last_link(app, "ann@example.com", "Verify your email")
    first = await browser(app).follow(link)
    assert first.status_code == 302 and set_cookie(first, SESSION) is not None
    for _ in range(2):
        again = await browser(app).follow(link)
        assert again.status_code == 302, again.text
        assert set_cookie(again, SESSION) is None
    user = await app.ctx.store.find_user_by_email("ann@example.com")
    assert user is not None and user.email_verified
    assert len(await app.ctx.store.list_sessions(user.id, app.ctx.now())) == 1


async def test_a_verification_link_is_no_login_link_after_a_reset(
    make_app: Callable[..., Any], browser: Callable[..., Browser]
) -> None:
    app = await verifying_app(make_app)
    await browser(app).sign_up()
    link = last_link(app, "ann@example.com", "Verify your email")
    assert set_cookie(await browser(app).follow(link), SESSION) is not None
    await mail_reset(browser(app))
    r = await reset(browser(app), reset_token(last_link(app, "ann@example.com", "Reset your password")))
    assert r.status_code == 200, r.text
    r = await browser(app).follow(link)
    assert set_cookie(r, SESSION) is None
    user = await app.ctx.store.find_user_by_email("ann@example.com")
    assert user is not None and await app.ctx.store.list_sessions(user.id, app.ctx.now()) == []


async def test_fifty_concurrent_uses_of_a_verification_link_make_one_session(
    make_app: Callable[..., Any], db_url: str, browser: Callable[..., Browser]
) -> None:
    app = await quiet_app(
        make_app,
        db_url=db_url,
        email_password=EmailPasswordSettings(require_email_verification=True, auto_sign_in_after_verification=True),
    )
    await browser(app).sign_up()
    link = last_link(app, "ann@example.com", "Verify your email")
    answers = await asyncio.gather(*(browser(app).follow(link) for _ in range(50)))
    assert all(r.status_code == 302 for r in answers)
    assert sum(set_cookie(r, SESSION) is not None for r in answers) == 1
    user = await app.ctx.store.find_user_by_email("ann@example.com")
    assert user is not None
    assert len(await app.ctx.store.list_sessions(user.id, app.ctx.now())) == 1
    events, _ = await app.ctx.store.list_audit(AuditQuery(user_id=user.id, events=("email-verified",)))
    assert len(events) == 1
