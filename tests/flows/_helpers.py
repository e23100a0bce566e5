"""Helpers for the flow tests: browsers with their own cookie jars, mail links, cookies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from authkeeper.server import create_server_app
from tests.conftest import ORIGIN, TestApp

PASSWORD = "a fine passphrase"


class Browser:
    """One user agent: its own cookie jar, and the Origin header a browser sends on POSTs."""

    def __init__(self, app: TestApp, *, headers: dict[str, str] | None = None) -> None:
        self.app = app
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_server_app(app.auth)),
            base_url=ORIGIN,
            headers={"origin": ORIGIN, **(headers or {})},
        )

    async def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return await self.http.post(self.app.api(path), json=body if body is not None else {}, **kw)

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.http.get(self.app.api(path), **kw)

    async def follow(self, link: str, **kw: Any) -> httpx.Response:
        """Open a link from a mail (whatever its origin) against the app, without redirects."""
        return await self.http.get(path_and_query(link), **kw)

    async def session(self, **kw: Any) -> dict[str, Any] | None:
        r = await self.get("/get-session", **kw)
        assert r.status_code == 200, r.text
        data: dict[str, Any] | None = r.json()
        return data

    async def sign_up(
        self, email: str = "ann@example.com", password: str = PASSWORD, name: str = "Ann", **extra: Any
    ) -> httpx.Response:
        r = await self.post("/sign-up/email", {"email": email, "password": password, "name": name, **extra})
        assert r.status_code == 200, r.text
        return r

    async def sign_in(self, email: str = "ann@example.com", password: str = PASSWORD, **extra: Any) -> httpx.Response:
        r = await self.post("/sign-in/email", {"email": email, "password": password, **extra})
        assert r.status_code == 200, r.text
        return r

    @property
    def session_cookie(self) -> str | None:
        return self.http.cookies.get("better-auth.session_token")

    async def aclose(self) -> None:
        await self.http.aclose()


def path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def set_cookie(r: httpx.Response, name: str) -> str | None:
    """The Set-Cookie line for ``name`` in a response, if any."""
    for line in r.headers.get_list("set-cookie"):
        if line.split("=", 1)[0] == name:
            return line
    return None


def is_deletion(line: str | None) -> bool:
    return line is not None and line.split(";")[0].endswith("=") and "Max-Age=0" in line


def error_of(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert the error envelope ``{code, message}`` with ``status``; returns the body."""
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    body: dict[str, Any] = r.json()
    assert body.get("code") == code, body
    assert isinstance(body.get("message"), str) and body["message"], body
    return body


class Clock:
    """A settable clock for ``AuthContext.clock``: ``app.ctx.clock = clock``."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
