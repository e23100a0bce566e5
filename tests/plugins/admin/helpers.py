"""Shared pieces of the admin tests: a world with an admin, a moderator and a plain user,
each signed in on their own client; a hand-moved clock; cookie helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from authkeeper.core.models import User
from authkeeper.core.ports import AuditQuery
from authkeeper.flows.sign_up import create_user
from tests.conftest import ORIGIN, TestApp

PASSWORD = "a fine passphrase"


class Clock:
    """A clock the test moves by hand (installed as ``ctx.clock``)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Client:
    """One browser: an httpx client with its own cookie jar."""

    def __init__(self, app: TestApp, http: httpx.AsyncClient) -> None:
        self.app = app
        self.http = http

    async def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        headers = {"origin": ORIGIN, **kw.pop("headers", {})}
        return await self.http.post(self.app.api(path), json=body if body is not None else {}, headers=headers, **kw)

    async def get(self, path: str, params: Any = None, **kw: Any) -> httpx.Response:
        return await self.http.get(self.app.api(path), params=params, **kw)

    async def session(self) -> Any:
        return (await self.get("/get-session")).json()


class World:
    """``admin``, ``mod`` and ``user`` (ann), each with a signed-in client."""

    def __init__(self, app: TestApp) -> None:
        self.app = app
        self._http: list[httpx.AsyncClient] = []

    @property
    def ctx(self):  # type: ignore[no-untyped-def]
        return self.app.ctx

    async def make_user(self, email: str, role: str | None = None, name: str | None = None, **extra: Any) -> User:
        if role is not None:
            extra["role"] = role
        return await create_user(
            self.ctx, name=name or email.split("@")[0], email=email, password=PASSWORD, extra=extra
        )

    def anonymous(self) -> Client:
        http = self.app.new_client()
        self._http.append(http)
        return Client(self.app, http)

    async def sign_in(self, email: str, password: str = PASSWORD, **extra: Any) -> Client:
        client = self.anonymous()
        r = await client.post("/sign-in/email", {"email": email, "password": password, **extra})
        assert r.status_code == 200, r.text
        return client

    async def setup(self) -> World:
        self.admin_user = await self.make_user("admin@example.com", "admin", name="Admin")
        self.mod_user = await self.make_user("mod@example.com", "moderator", name="Mod")
        self.plain_user = await self.make_user("ann@example.com", name="Ann")
        self.admin = await self.sign_in("admin@example.com")
        self.mod = await self.sign_in("mod@example.com")
        self.user = await self.sign_in("ann@example.com")
        return self

    async def audit(self, **query: Any) -> list[Any]:
        events, _ = await self.ctx.store.list_audit(AuditQuery(limit=500, **query))
        return events

    async def close(self) -> None:
        for http in self._http:
            await http.aclose()


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Set-Cookie headers by cookie name (the last one for each name)."""
    out: dict[str, str] = {}
    for header in response.headers.get_list("set-cookie"):
        out[header.split("=", 1)[0]] = header
    return out
