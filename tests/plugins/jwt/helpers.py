"""Shared pieces of the jwt plugin's tests: a hand-moved clock, signed-in clients, the plugin's
service, forging tokens by hand, and a host route that takes only JWTs."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt as pyjwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from authkeeper import Authkeeper
from authkeeper.core.services import TOKEN_ISSUER
from authkeeper.plugins.jwt import JwtService
from authkeeper.plugins.jwt.keys import KeyRecord, record_of
from tests.conftest import ORIGIN, TestApp

PASSWORD = "a fine passphrase"
COOKIE = "better-auth.session_token"


class Clock:
    """A clock the test moves by hand (installed as ``ctx.clock``, shared by several apps)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def to(self, when: datetime) -> None:
        self.now = when


def freeze(*apps: TestApp, clock: Clock | None = None) -> Clock:
    clock = clock or Clock()
    for app in apps:
        app.auth.ctx.clock = clock
    return clock


def service(app: TestApp | Authkeeper) -> JwtService:
    auth = app.auth if isinstance(app, TestApp) else app
    found = auth.ctx.services.require(TOKEN_ISSUER)
    assert isinstance(found, JwtService)
    return found


async def session_token(app: TestApp, email: str = "ann@example.com", name: str = "Ann") -> str:
    """Sign ``email`` up on ``app.client`` (its cookie jar holds the session); the signed
    session token, as the ``set-auth-token`` header gives it for ``Authorization: Bearer``."""
    r = await app.sign_up(email, PASSWORD, name)
    return r.headers["set-auth-token"]


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def get_token(app: TestApp, headers: dict[str, str] | None = None) -> str:
    """``GET /token`` on ``app.client`` (its cookies, or ``headers``)."""
    r = await app.get("/token", headers=headers or {})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"token"}, body
    token = body["token"]
    assert isinstance(token, str)
    return token


async def jwks(app: TestApp) -> list[dict[str, Any]]:
    r = await app.get("/jwks")
    assert r.status_code == 200, r.text
    keys = r.json()["keys"]
    assert isinstance(keys, list)
    return keys


def header_of(token: str) -> dict[str, Any]:
    return pyjwt.get_unverified_header(token)


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = pyjwt.decode(token, options={"verify_signature": False})
    return claims


def verify_with_jwks(
    token: str, keys: list[dict[str, Any]], audience: str = ORIGIN, *, at: datetime | None = None
) -> dict[str, Any]:
    """Verify as another backend would: the JWKS entry named by ``kid``, through PyJWK; the
    times against ``at`` (a test's moved clock) when given, else the real time."""
    kid = header_of(token)["kid"]
    entry = next(k for k in keys if k["kid"] == kid)
    jwk = pyjwt.PyJWK(entry)
    options: Any = {"verify_exp": at is None, "verify_iat": at is None, "verify_nbf": at is None}
    options["require"] = ["exp", "iat"]
    claims: dict[str, Any] = pyjwt.decode(token, jwk.key, algorithms=[entry["alg"]], audience=audience, options=options)
    if at is not None:
        assert claims["iat"] <= at.timestamp() < claims["exp"], (claims["iat"], at, claims["exp"])
    return claims


async def kids(app: TestApp) -> list[str]:
    return [r["id"] for r in await app.auth.store.select("jwks")]


async def records(app: TestApp | Authkeeper) -> list[KeyRecord]:
    auth = app.auth if isinstance(app, TestApp) else app
    return [record_of(r) for r in await auth.store.select("jwks")]


# -- forging ------------------------------------------------------------------------------
def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def assemble(header: Any, payload: Any, signature: bytes = b"") -> str:
    return f"{b64json(header)}.{b64json(payload)}.{b64url(signature)}"


def swap_part(token: str, index: int, value: Any) -> str:
    """``token`` with its header (0) or payload (1) replaced, the signature kept."""
    parts = token.split(".")
    parts[index] = b64json(value)
    return ".".join(parts)


# -- a host route that takes JWTs only ----------------------------------------------------
def jwt_route(auth: Authkeeper, kinds: tuple[str, ...] = ("jwt",)) -> httpx.AsyncClient:
    """A client of a host app whose ``GET /whoami`` accepts credentials of ``kinds``: 200 with
    who the credential names, 401 without one."""

    async def whoami(request: Request) -> JSONResponse:
        found = await auth.credentials.authenticate(request, kinds, unsafe=False)
        if found is None:
            return JSONResponse({"who": None}, status_code=401)
        return JSONResponse(
            {"kind": found.kind, "email": found.user.email, "id": found.user.id, "sub": found.details.get("sub")}
        )

    host = Starlette(routes=[Route("/whoami", whoami)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=host), base_url=ORIGIN)


@contextmanager
def counting_selects(auth: Authkeeper, table: str = "jwks") -> Iterator[list[int]]:
    """Count ``store.select(table)`` calls while the block runs (the count is ``box[0]``)."""
    store = auth.ctx.store
    original = store.select
    box = [0]

    async def select(name: str, *args: Any, **kw: Any) -> list[dict[str, Any]]:
        if name == table:
            box[0] += 1
        return await original(name, *args, **kw)

    store.select = select  # type: ignore[method-assign,assignment]
    try:
        yield box
    finally:
        del store.select
