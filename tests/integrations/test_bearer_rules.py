"""A bearer that is not a valid session credential is ignored, everywhere, and the request is
then judged as a cookie request with every cookie check; a valid bearer wins and needs no
Origin (Hardening I, item 11)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import Depends, FastAPI

from authkeeper import Authkeeper, migrate
from authkeeper.core.models import User
from authkeeper.integrations.fastapi import AuthDependencies
from tests.conftest import ORIGIN, fast_settings

pytestmark = pytest.mark.anyio

EVIL = "https://evil.example"
BOGUS = ["Bearer nonsense", "Bearer " + "A" * 32, "Bearer a.b", "Bearer "]


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = fast_settings(f"sqlite:///{tmp_path / 'app.db'}")
    await migrate(settings)
    auth = Authkeeper(settings)
    app = FastAPI()
    deps = AuthDependencies(auth)
    deps.install(app)

    @app.post("/transfer")
    async def transfer(user: User = Depends(deps.current_user)) -> dict[str, str]:
        return {"by": user.email}

    @app.get("/me")
    async def me(user: User = Depends(deps.current_user)) -> dict[str, str]:
        return {"email": user.email}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as c:
        r = await c.post(
            "/api/auth/sign-up/email",
            headers={"origin": ORIGIN},
            json={"email": "dev@example.com", "password": "a fine passphrase", "name": "Dev"},
        )
        assert r.status_code == 200, r.text
        c.headers["x-test-bearer"] = r.headers["set-auth-token"]
        yield c
    await auth.shutdown()


@pytest.mark.parametrize("bogus", BOGUS)
async def test_an_invalid_bearer_does_not_skip_the_origin_check(client: httpx.AsyncClient, bogus: str) -> None:
    """The CSRF case: a cross-site form post carries the victim's cookie; an attacker's page
    cannot set Authorization without a preflight, but a bogus header must never be the reason
    the origin goes unchecked."""
    assert client.cookies.get("better-auth.session_token")
    r = await client.post("/transfer", headers={"authorization": bogus, "origin": EVIL})
    assert (r.status_code, r.json()["code"]) == (403, "INVALID_ORIGIN"), r.text
    r = await client.post("/transfer", headers={"authorization": bogus})
    assert (r.status_code, r.json()["code"]) == (403, "MISSING_OR_NULL_ORIGIN"), r.text


@pytest.mark.parametrize("bogus", BOGUS)
async def test_an_invalid_bearer_is_ignored_and_the_cookie_counts(client: httpx.AsyncClient, bogus: str) -> None:
    r = await client.post("/transfer", headers={"authorization": bogus, "origin": ORIGIN})
    assert r.status_code == 200 and r.json() == {"by": "dev@example.com"}, r.text
    r = await client.get("/me", headers={"authorization": bogus})
    assert r.status_code == 200, r.text


async def test_a_valid_bearer_wins_and_needs_no_origin(client: httpx.AsyncClient) -> None:
    token = client.headers["x-test-bearer"]
    client.cookies.clear()
    r = await client.post("/transfer", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    # Also beside a cookie, and from any origin: the bearer is the credential.
    client.cookies.set("better-auth.session_token", "junk")
    r = await client.post("/transfer", headers={"authorization": f"Bearer {token}", "origin": EVIL})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("bogus", BOGUS)
async def test_the_api_judges_an_invalid_bearer_as_a_cookie_request(client: httpx.AsyncClient, bogus: str) -> None:
    r = await client.post("/api/auth/update-user", json={"name": "X"}, headers={"authorization": bogus, "origin": EVIL})
    assert (r.status_code, r.json()["code"]) == (403, "INVALID_ORIGIN"), r.text
    r = await client.post(
        "/api/auth/update-user", json={"name": "X"}, headers={"authorization": bogus, "origin": ORIGIN}
    )
    assert r.status_code == 200, r.text
    r = await client.get("/api/auth/get-session", headers={"authorization": bogus})
    assert r.json()["user"]["email"] == "dev@example.com"


async def test_the_api_takes_a_valid_bearer_beside_cookies_without_origin(client: httpx.AsyncClient) -> None:
    token = client.headers["x-test-bearer"]
    assert client.cookies.get("better-auth.session_token")
    r = await client.post("/api/auth/update-user", json={"name": "Y"}, headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
