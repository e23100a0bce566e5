"""Shared pieces of the page tests: a visitor with its own cookie jar that reads pages and
sends their forms as a browser would (with the page's CSRF token and Origin), and small
HTML readers for inputs, field errors and notices."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from authkeeper.flows.sign_up import create_user
from tests.conftest import ORIGIN, TestApp

PASSWORD = "a fine passphrase"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(page: str) -> str:
    found = _TOKEN.search(page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def input_tag(page: str, name: str) -> str:
    """The ``<input>`` tag of the field named ``name`` (rendered by the field macro)."""
    found = re.search(rf'<input id="f-{re.escape(name)}"[^>]*>', page)
    assert found, f"no input {name!r} on the page"
    return found.group(0)


def attr(tag: str, name: str) -> str | None:
    found = re.search(rf'\s{re.escape(name)}(?:="([^"]*)")?', tag)
    if not found:
        return None
    return html.unescape(found.group(1) or "")


def field_error(page: str, name: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="f-{re.escape(name)}-error">(.*?)</p>', page, re.DOTALL)
    return text(found.group(1)).removeprefix("Error: ") if found else None


def form_alert(page: str, form_id: str) -> str | None:
    found = re.search(rf'<div class="alert" role="alert" id="{re.escape(form_id)}-error">(.*?)</div>', page, re.DOTALL)
    return text(found.group(1)) if found else None


def notice(page: str) -> str | None:
    found = re.search(r'<div class="notice" role="status">(.*?)</div>', page, re.DOTALL)
    return text(found.group(1)) if found else None


def title(page: str) -> str:
    found = re.search(r"<title>(.*?)</title>", page, re.DOTALL)
    assert found
    return text(found.group(1))


def text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


class Visitor:
    """One browser on the in-process server: its own cookies, forms sent with the CSRF
    token of the page they are on and the site's Origin, redirects not followed."""

    def __init__(self, app: TestApp) -> None:
        self.app = app
        self.http: httpx.AsyncClient = app.new_client()

    async def close(self) -> None:
        await self.http.aclose()

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.http.get(path, **kw)

    async def follow(self, path: str) -> httpx.Response:
        """GET ``path`` and follow same-site redirects, as a browser does."""
        r = await self.get(path)
        for _ in range(5):
            if r.status_code not in (301, 302, 303, 307):
                break
            r = await self.get(r.headers["location"].replace(ORIGIN, ""))
        return r

    async def token(self, page: str = "/sign-in") -> str:
        r = await self.get(page)
        return csrf_token(r.text)

    async def submit(self, page: str, action: str, data: dict[str, str], **kw: Any) -> httpx.Response:
        """Open ``page``, then post ``data`` to ``action`` as its form would."""
        token = await self.token(page)
        headers = {"origin": ORIGIN, **kw.pop("headers", {})}
        return await self.http.post(action, data={"csrf_token": token, **data}, headers=headers, **kw)

    async def sign_up(
        self, email: str = "ann@example.com", name: str = "Ann", password: str = PASSWORD
    ) -> httpx.Response:
        r = await self.submit("/sign-up", "/sign-up", {"name": name, "email": email, "password": password})
        assert r.status_code == 303, r.text
        return r

    async def sign_in(self, email: str = "ann@example.com", password: str = PASSWORD, **extra: str) -> httpx.Response:
        return await self.submit(
            "/sign-in", "/sign-in", {"email": email, "password": password, "remember": "on", **extra}
        )

    async def session(self) -> Any:
        return (await self.get(self.app.api("/get-session"))).json()


async def make_user(app: TestApp, email: str, name: str = "User", role: str | None = None, **extra: Any) -> Any:
    if role is not None:
        extra["role"] = role
    verified = bool(extra.pop("emailVerified", False))
    return await create_user(app.ctx, name=name, email=email, password=PASSWORD, extra=extra, email_verified=verified)
