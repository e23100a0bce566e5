"""The dev mailbox in Chromium: an inbox that reads well at desktop size and at 320 px,
passes axe-core, runs no script, and whose mail links open."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import LiveServer
from tests.pages.test_browser import PASSWORD, browser, look, new_context, path_of

__all__ = ["browser"]  # the module's browser fixture, shared


def test_mailbox_in_a_browser(browser: Any, live_server: LiveServer) -> None:
    url = live_server.url
    email = "mailbox.reader.with.a.long.address@example.com"
    r = httpx.post(
        f"{url}/api/auth/sign-up/email",
        headers={"origin": url},
        json={"email": email, "password": PASSWORD, "name": "<b>Mailbox</b> reader"},
    )
    assert r.status_code == 200, r.text
    r = httpx.post(
        f"{url}/api/auth/send-verification-email", headers={"origin": url}, json={"email": email, "callbackURL": "/"}
    )
    assert r.status_code == 200, r.text
    # Tools keep their JSON.
    assert httpx.get(f"{url}/__mailbox", params={"to": email}).json()[0]["to"] == email
    ctx = new_context(browser)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    response = page.goto(f"{url}/__mailbox")
    assert response is not None and response.status == 200
    assert "text/html" in response.headers["content-type"]
    assert page.text_content("h1") == "Dev mailbox"
    assert page.locator("article.mail").count() >= 2
    assert page.locator("script").count() == 0
    look(page, "dev-mailbox")
    # Filtered to one address, then the newest mail's link followed.
    page.fill("#f-to", email)
    page.click("button:has-text('Show')")
    assert page.locator("article.mail").count() == 2
    page.locator("article.mail .mail-link a").first.click()
    page.wait_for_load_state()
    assert not path_of(page).startswith("/__mailbox")
    assert errors == [], errors
    ctx.close()
