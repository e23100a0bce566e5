"""A rate-limited (or locked) form is shown again, not replaced: the message with the time to
wait, status 429 with Retry-After, what was typed kept except passwords and codes. Also the
404 page of a signed-in visitor and a reset link that is bad before any form is shown."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from authkeeper.core import errors
from authkeeper.core.settings import RateLimitRule, RateLimitSettings, Settings
from authkeeper.pages.messages import describe
from tests.pages.helpers import (
    PASSWORD,
    Visitor,
    attr,
    form_alert,
    input_tag,
    make_user,
    text,
    title,
)

pytestmark = pytest.mark.anyio

_WAIT = re.compile(r"^Too many attempts from your network\. Try again in (\d+) seconds?\.$")


def limited(path: str, window: int = 42, limit: int = 1) -> RateLimitSettings:
    return RateLimitSettings(rules={path: RateLimitRule(window=window, max=limit)})


def check_limited(r: Any, form_id: str) -> None:
    """429, Retry-After, and the form's alert saying how long to wait (in the same seconds)."""
    assert r.status_code == 429, r.text
    wait = int(r.headers["retry-after"])
    assert 1 <= wait <= 42
    message = form_alert(r.text, form_id)
    assert message is not None, text(r.text)
    found = _WAIT.match(message)
    assert found, message
    assert int(found.group(1)) == wait
    assert message.endswith("second." if wait == 1 else "seconds.")
    assert not title(r.text).startswith("Slow down")
    assert 'method="post"' in r.text  # the form itself is there to send again


def test_the_wait_is_plural_aware() -> None:
    settings = Settings()
    one = errors.AuthError(errors.TOO_MANY_REQUESTS, retry_after=1)
    assert describe(one, settings).message == "Too many attempts from your network. Try again in 1 second."
    many = errors.AuthError(errors.TOO_MANY_REQUESTS, retry_after=42)
    assert describe(many, settings).message == "Too many attempts from your network. Try again in 42 seconds."


async def test_rate_limited_sign_in_keeps_the_email(make_app: Callable[..., Any]) -> None:
    app = await make_app(rate_limit=limited("/sign-in/*"))
    await make_user(app, "ann@example.com")
    v = Visitor(app)
    assert (await v.sign_in(password="wrong password")).status_code == 400
    r = await v.sign_in(password="a secret typed here")
    check_limited(r, "sign-in")
    assert attr(input_tag(r.text, "email"), "value") == "ann@example.com"
    assert attr(input_tag(r.text, "password"), "value") is None
    assert "a secret typed here" not in r.text
    assert 'name="remember" type="checkbox" value="on" checked' in r.text
    await v.close()


async def test_rate_limited_sign_up_keeps_name_and_email(make_app: Callable[..., Any]) -> None:
    app = await make_app(rate_limit=limited("/sign-up/*"))
    v = Visitor(app)
    assert (
        await v.submit("/sign-up", "/sign-up", {"name": "Ann", "email": "ann@example.com", "password": "short"})
    ).status_code == 400
    r = await v.submit("/sign-up", "/sign-up", {"name": "Ann Lee", "email": "lee@example.com", "password": PASSWORD})
    check_limited(r, "sign-up")
    assert attr(input_tag(r.text, "name"), "value") == "Ann Lee"
    assert attr(input_tag(r.text, "email"), "value") == "lee@example.com"
    assert attr(input_tag(r.text, "password"), "value") is None and PASSWORD not in r.text
    await v.close()


async def test_rate_limited_forgot_password_keeps_the_email(make_app: Callable[..., Any]) -> None:
    app = await make_app(rate_limit=limited("/request-password-reset"))
    v = Visitor(app)
    assert (await v.submit("/forgot-password", "/forgot-password", {"email": "x@example.com"})).status_code == 303
    r = await v.submit("/forgot-password", "/forgot-password", {"email": "y@example.com"})
    check_limited(r, "forgot")
    assert attr(input_tag(r.text, "email"), "value") == "y@example.com"
    await v.close()


async def test_rate_limited_resend_keeps_the_email(make_app: Callable[..., Any]) -> None:
    app = await make_app(rate_limit=limited("/send-verification-email"))
    v = Visitor(app)
    assert (
        await v.submit("/verify-email/resend", "/verify-email/resend", {"email": "x@example.com"})
    ).status_code == 303
    r = await v.submit("/verify-email/resend", "/verify-email/resend", {"email": "y@example.com"})
    check_limited(r, "resend")
    assert attr(input_tag(r.text, "email"), "value") == "y@example.com"
    await v.close()


async def reset_token(app: Any, v: Visitor, email: str) -> str:
    assert (await v.submit("/forgot-password", "/forgot-password", {"email": email})).status_code == 303
    await app.auth.ctx.mail.drain()
    url = app.mails(email)[-1].url
    return urlsplit(url).path.rsplit("/", 1)[1]


async def test_rate_limited_reset_keeps_the_link_but_not_the_password(make_app: Callable[..., Any]) -> None:
    app = await make_app(rate_limit=limited("/reset-password"))
    await make_user(app, "ann@example.com")
    v = Visitor(app)
    token = await reset_token(app, v, "ann@example.com")
    page = f"/reset-password?token={token}"
    assert (await v.submit(page, "/reset-password", {"token": token, "password": "short"})).status_code == 400
    r = await v.submit(page, "/reset-password", {"token": token, "password": "another fine passphrase"})
    check_limited(r, "reset")
    assert f'name="token" value="{token}"' in r.text
    assert attr(input_tag(r.text, "password"), "value") is None and "another fine passphrase" not in r.text
    await v.close()


async def test_not_found_offers_the_account_to_a_signed_in_visitor(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    v = Visitor(app)
    r = await v.get("/no/such/page")
    assert r.status_code == 404 and "Go to sign-in" in r.text
    await v.sign_up()
    r = await v.get("/no/such/page")
    assert r.status_code == 404 and title(r.text).startswith("Page not found")
    assert "Go to your account" in text(r.text) and "Go to sign-in" not in r.text
    r = await v.http.delete("/account")
    assert r.status_code == 405 and "Go to your account" in text(r.text)
    await v.close()


async def test_a_bad_reset_link_says_so_without_a_form(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    await make_user(app, "ann@example.com")
    v = Visitor(app)
    for query in ("?token=garbage", "?token=", "", "?error=INVALID_TOKEN"):
        r = await v.get("/reset-password" + query)
        assert r.status_code == 400, query
        assert "This link does not work" in r.text and "<form" not in r.text.split("</header>")[-1], query
        assert 'name="password"' not in r.text
    token = await reset_token(app, v, "ann@example.com")
    r = await v.get(f"/reset-password?token={token}")
    assert r.status_code == 200 and 'name="password"' in r.text and "This link does not work" not in r.text
    # Used once, the link is bad.
    assert (
        await v.submit(
            f"/reset-password?token={token}", "/reset-password", {"token": token, "password": "another fine passphrase"}
        )
    ).status_code == 303
    r = await v.get(f"/reset-password?token={token}")
    assert r.status_code == 400 and 'name="password"' not in r.text
    await v.close()


async def test_rate_limited_account_form_is_shown_again(make_app: Callable[..., Any]) -> None:
    """The signed-in forms use the same mechanism (here change-password)."""
    app = await make_app(rate_limit=limited("/change-password"))
    await make_user(app, "ann@example.com")
    v = Visitor(app)
    assert (await v.sign_in()).status_code in (200, 302, 303)
    data = {"current_password": "not it at all", "new_password": "another fine passphrase"}
    assert (await v.submit("/account/security", "/account/password", data)).status_code == 400
    r = await v.submit("/account/security", "/account/password", data)
    assert r.status_code == 429, r.text
    assert "retry-after" in r.headers
    assert 'action="/account/password"' in r.text and "another fine passphrase" not in r.text
    assert not title(r.text).startswith("Slow down")
    await v.close()
