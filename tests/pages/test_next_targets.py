"""The pages' ``next`` outside ASCII (Hardening II, item 6): a relative ``next`` the API would
refuse falls back to the account page, as any unsafe ``next`` does (never a 500, and the
visitor who just signed in stays signed in); a trusted absolute one is sent percent-encoded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.pages.helpers import Visitor, make_user

pytestmark = pytest.mark.anyio

TARGETS = ["/一", "/account?tab=ü", "/ｅｖｉｌ"]


@pytest.mark.parametrize("target", TARGETS)
async def test_a_non_ascii_next_falls_back_to_the_account_page(make_app: Callable[..., Any], target: str) -> None:
    app = await make_app()
    await make_user(app, "ann@example.com")
    v = Visitor(app)
    page = await v.get("/sign-in", params={"next": target})
    assert page.status_code == 200 and 'name="next"' not in page.text
    r = await v.sign_in(next=target)
    assert r.status_code == 303 and r.headers["location"] == "/account", target
    assert await v.session() is not None
    # Signed in, the sign-in and sign-up pages send on: to the account page.
    for path in ("/sign-in", "/sign-up"):
        r = await v.get(path, params={"next": target})
        assert r.status_code == 303 and r.headers["location"] == "/account", (path, target)
    page = await v.get("/reauth", params={"next": target})
    assert page.status_code == 200 and 'name="next"' not in page.text
    await v.close()


async def test_a_non_ascii_next_on_sign_up_falls_back(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    v = Visitor(app)
    token = await v.token("/sign-up")
    r = await v.http.post(
        "/sign-up",
        data={
            "csrf_token": token,
            "name": "Ann",
            "email": "ann@example.com",
            "password": "a fine passphrase",
            "next": "/一",
        },
        headers={"origin": "http://testserver"},
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/account"), r.headers
    await v.close()


async def test_a_trusted_non_ascii_next_is_sent_percent_encoded(make_app: Callable[..., Any]) -> None:
    app = await make_app(trusted_origins=("https://app.example.com",))
    await make_user(app, "ann@example.com")
    v = Visitor(app)
    r = await v.sign_in(next="https://app.example.com/café?q=一")
    assert r.status_code == 303
    assert r.headers["location"] == "https://app.example.com/caf%C3%A9?q=%E4%B8%80"
    r = await v.get("/sign-in", params={"next": "https://app.example.com/一"})
    assert r.status_code == 303 and r.headers["location"] == "https://app.example.com/%E4%B8%80"
    await v.close()
