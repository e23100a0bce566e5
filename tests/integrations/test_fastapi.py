"""The FastAPI dependencies, through the example app's routes."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import Depends, FastAPI

from authkeeper import Authkeeper, migrate
from authkeeper.core.models import User
from authkeeper.integrations.fastapi import AuthDependencies
from tests.conftest import ORIGIN, fast_settings

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = fast_settings(f"sqlite:///{tmp_path / 'app.db'}")
    await migrate(settings)
    auth = Authkeeper(settings)
    app = FastAPI()
    deps = AuthDependencies(auth)
    deps.install(app)

    @app.get("/me")
    async def me(user: User = Depends(deps.current_user)) -> dict[str, str]:
        return {"email": user.email}

    @app.get("/maybe")
    async def maybe(user: User | None = Depends(deps.optional_user)) -> dict[str, object]:
        return {"user": user.email if user else None}

    @app.post("/write")
    async def write(user: User = Depends(deps.current_user)) -> dict[str, bool]:
        return {"ok": True}

    @app.get("/verified")
    async def verified(user: User = Depends(deps.verified_user)) -> dict[str, bool]:
        return {"ok": True}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as c:
        yield c
    await auth.shutdown()


async def sign_up(client: httpx.AsyncClient) -> str:
    r = await client.post(
        "/api/auth/sign-up/email",
        json={"email": "dev@example.com", "password": "a fine passphrase", "name": "Dev"},
    )
    assert r.status_code == 200, r.text
    return str(r.headers["set-auth-token"])


async def test_current_user_needs_a_session(client: httpx.AsyncClient) -> None:
    r = await client.get("/me")
    assert r.status_code == 401
    assert r.json() == {"message": "Unauthorized", "code": "UNAUTHORIZED"}
    assert (await client.get("/maybe")).json() == {"user": None}


async def test_cookie_and_bearer_both_work(client: httpx.AsyncClient) -> None:
    token = await sign_up(client)
    assert (await client.get("/me")).json() == {"email": "dev@example.com"}
    bare = httpx.AsyncClient(transport=client._transport, base_url=ORIGIN)  # no cookies
    r = await bare.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert r.json() == {"email": "dev@example.com"}
    # Bearer-authenticated writes need no Origin: browsers never attach the header themselves.
    r = await bare.post("/write", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    await bare.aclose()


async def test_cookie_writes_need_a_trusted_origin(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    assert (await client.post("/write")).json()["code"] == "MISSING_OR_NULL_ORIGIN"
    assert (await client.post("/write", headers={"origin": "https://evil.example"})).json()["code"] == "INVALID_ORIGIN"
    assert (await client.post("/write", headers={"origin": ORIGIN})).json() == {"ok": True}


async def test_verified_user(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    r = await client.get("/verified")
    assert (r.status_code, r.json()["code"]) == (403, "EMAIL_NOT_VERIFIED")


def test_example_app_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'ex.db'}")
    import importlib

    module = importlib.import_module("examples.fastapi_app")
    paths = {getattr(r, "path", None) for r in module.app.routes}
    assert {"/notes", "/public", "/api/auth"} <= paths
