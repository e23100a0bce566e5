"""The dev mailbox: JSON for tools (unchanged), an HTML inbox for a browser."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from authkeeper.core.mail import Message
from authkeeper.core.settings import MailSettings
from tests.pages.helpers import Visitor, text

pytestmark = pytest.mark.anyio

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def fill(app: Any) -> None:
    outbox = app.auth.outbox
    assert outbox is not None
    outbox.add(
        Message(
            to="ann@example.com",
            subject="First",
            text="Hello Ann",
            html="<p>x</p>",
            url="http://testserver/api/auth/verify-email?token=abc&callbackURL=%2F",
            at="2024-01-01T00:00:01.000Z",
        )
    )
    outbox.add(
        Message(
            to="bob@example.com",
            subject="<b>Bold</b> & co",
            text="Hi <script>alert(1)</script>",
            html="<p>y</p>",
            url="javascript:alert(1)",
            at="2024-01-01T00:00:02.000Z",
        )
    )
    outbox.add(
        Message(to="Ann@Example.com", subject="Third", text="Again", html="<p>z</p>", at="2024-01-01T00:00:03.000Z")
    )


async def test_json_is_unchanged(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    fill(app)
    v = Visitor(app)
    for accept in (None, "*/*", "application/json", "text/html;q=0.5, application/json", "text/html;q=0"):
        headers = {"accept": accept} if accept else {}
        r = await v.get("/__mailbox", params={"to": "ann@example.com"}, headers=headers)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json", accept
        assert r.json() == [
            {
                "to": "ann@example.com",
                "subject": "First",
                "text": "Hello Ann",
                "url": "http://testserver/api/auth/verify-email?token=abc&callbackURL=%2F",
                "at": "2024-01-01T00:00:01.000Z",
            },
            {
                "to": "Ann@Example.com",
                "subject": "Third",
                "text": "Again",
                "url": None,
                "at": "2024-01-01T00:00:03.000Z",
            },
        ]
        assert r.text == json.dumps(r.json(), separators=(",", ":"))
        assert r.headers["cache-control"] == "no-store"
        # Without ?to= the answer stays what it was: nothing.
        r = await v.get("/__mailbox", headers=headers)
        assert r.status_code == 200 and r.text == "[]", accept
    await v.close()


async def test_a_browser_gets_an_html_inbox(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    fill(app)
    v = Visitor(app)
    r = await v.get("/__mailbox", headers={"accept": BROWSER})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    body = r.text
    # Every address, newest first.
    assert [text(s) for s in re.findall(r'<h2 class="mail-subject">(.*?)</h2>', body, re.DOTALL)] == [
        "Third",
        "<b>Bold</b> & co",
        "First",
    ]
    assert "ann@example.com" in body and "bob@example.com" in body
    # Escaped: the mail's text and subject are never markup.
    assert "<script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<b>Bold</b>" not in body and "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in body
    # The http(s) link is clickable; anything else is not a link.
    hrefs = re.findall(r'<a [^>]*href="([^"]*)"', body)
    assert "http://testserver/api/auth/verify-email?token=abc&amp;callbackURL=%2F" in hrefs
    assert not any("javascript" in h for h in hrefs)
    assert "<script" not in body
    # The pages' headers: their CSP (no inline script), no caching, Vary on Accept.
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "unsafe-inline" not in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    assert "accept" in r.headers["vary"].lower()
    await v.close()


async def test_the_html_inbox_filters_by_address(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    fill(app)
    v = Visitor(app)
    r = await v.get("/__mailbox", params={"to": "ANN@example.com "}, headers={"accept": "text/html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    subjects = [text(s) for s in re.findall(r'<h2 class="mail-subject">(.*?)</h2>', r.text, re.DOTALL)]
    assert subjects == ["Third", "First"]
    assert "bob@example.com" not in r.text
    r = await v.get("/__mailbox", params={"to": "nobody@example.com"}, headers={"accept": "text/html"})
    assert r.status_code == 200 and "No mail" in text(r.text)
    await v.close()


async def test_no_mailbox_without_the_outbox(make_app: Callable[..., Any]) -> None:
    app = await make_app(mail=MailSettings(backend="none", outbox=False))
    v = Visitor(app)
    for accept in ("application/json", BROWSER):
        r = await v.get("/__mailbox", headers={"accept": accept})
        assert r.status_code == 404
    await v.close()
