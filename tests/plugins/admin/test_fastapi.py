"""``AuthDependencies.require_role`` and ``require_permission`` in a FastAPI app."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import Depends, FastAPI

from authkeeper import Authkeeper, migrate
from authkeeper.core.models import User
from authkeeper.flows.sign_up import create_user
from authkeeper.integrations.fastapi import AuthDependencies
from authkeeper.plugins.admin import AdminSettings
from tests.conftest import ORIGIN, fast_settings

pytestmark = pytest.mark.anyio
PASSWORD = "a fine passphrase"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = fast_settings(f"sqlite:///{tmp_path / 'app.db'}")
    settings = dataclasses.replace(
        settings, admin=dataclasses.replace(AdminSettings(), admin_emails=("boss@example.com",))
    )  # type: ignore[call-arg]  # plugin sections are keywords of Settings.__init__ only at runtime
    await migrate(settings)
    auth = Authkeeper(settings)
    app = FastAPI()
    deps = AuthDependencies(auth)
    deps.install(app)
    admins = deps.require_role("admin")
    staff_roles = deps.require_role("admin", "moderator")

    @app.get("/admin-only")
    async def admin_only(user: User = Depends(admins)) -> dict[str, str]:
        return {"email": user.email}

    @app.get("/staff")
    async def staff(user: User = Depends(staff_roles)) -> dict[str, str]:
        return {"email": user.email}

    @app.post(
        "/ban-something", dependencies=[Depends(deps.require_permission({"user": ["ban"], "session": ["revoke"]}))]
    )
    async def ban_something() -> dict[str, bool]:
        return {"ok": True}

    for email, role in (
        ("root@example.com", "admin"),
        ("mod@example.com", "moderator"),
        ("ann@example.com", "user"),
        ("boss@example.com", "user"),
        ("both@example.com", "user,moderator"),
    ):
        await create_user(
            auth.ctx, name=email, email=email, password=PASSWORD, extra={"role": role}, email_verified=True
        )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as http:
        yield http
    await auth.shutdown()


async def as_user(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    r = await client.post(
        "/api/auth/sign-in/email", json={"email": email, "password": PASSWORD}, headers={"origin": ORIGIN}
    )
    assert r.status_code == 200, r.text
    client.cookies.clear()
    return {"authorization": f"Bearer {r.json()['token']}"}


@pytest.mark.parametrize(
    "email,admin_only,staff,ban",
    [
        ("root@example.com", 200, 200, 200),
        ("boss@example.com", 200, 200, 200),  # an admin by admin_emails
        ("mod@example.com", 403, 200, 200),
        ("both@example.com", 403, 200, 200),
        ("ann@example.com", 403, 403, 403),
    ],
)
async def test_roles_and_permissions(
    client: httpx.AsyncClient, email: str, admin_only: int, staff: int, ban: int
) -> None:
    headers = await as_user(client, email)
    r = await client.get("/admin-only", headers=headers)
    assert r.status_code == admin_only
    if admin_only == 403:
        assert r.json() == {"message": "You are not allowed to do this", "code": "FORBIDDEN"}
    else:
        assert r.json() == {"email": email}
    assert (await client.get("/staff", headers=headers)).status_code == staff
    assert (await client.post("/ban-something", headers=headers)).status_code == ban


async def test_no_session_is_401(client: httpx.AsyncClient) -> None:
    for r in (await client.get("/admin-only"), await client.get("/staff"), await client.post("/ban-something")):
        assert r.status_code == 401 and r.json()["code"] == "UNAUTHORIZED"
