"""A plugin adds a credential (a transport and a strategy of its own kind) without touching the
resolver: an endpoint that names the kind sees it; ``get-session`` and every other session
endpoint never do; the precedence rule (a live header credential wins and needs no Origin,
anything else is judged by the cookie with every cookie check) holds for it too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from starlette.requests import Request
from starlette.responses import Response

from authkeeper.core.context import AuthContext
from authkeeper.core.models import User
from authkeeper.flows import sessions
from authkeeper.integrations.fastapi import AuthDependencies
from authkeeper.plugins.base import Plugin
from authkeeper.web.call import SESSION, Call, Endpoint
from authkeeper.web.credentials import (
    Credential,
    CredentialBackend,
    HeaderTransport,
    Strategy,
)
from tests.conftest import ORIGIN, TestApp

pytestmark = pytest.mark.anyio

EVIL = "https://evil.example"
KIND = "test-key"


class TestKeys(Strategy):
    """``x-test-key: key-<session token>`` names the session's user (a stand-in for an API key)."""

    __test__ = False
    kind = KIND

    def __init__(self) -> None:
        self.seen: list[str] = []

    def decode(self, ctx: AuthContext, text: str) -> str | None:
        return text.removeprefix("key-") if text.startswith("key-") else None

    async def authenticate(self, ctx: AuthContext, token: str, *, refresh: bool) -> Credential | None:
        self.seen.append(token)
        resolved = await sessions.resolve(ctx, token, refresh=False)
        return Credential(KIND, resolved.user, details={"key": token[:4]}) if resolved is not None else None


async def whoami(call: Call) -> Response:
    assert call.credential is not None
    return call.json(
        {"kind": call.credential.kind, "via": call.via, "email": call.user.email, "session": call.resolved is not None}
    )


def key_plugin(strategy: TestKeys) -> Plugin:
    both = (SESSION, KIND)
    return Plugin(
        id="test-key",
        credentials=(CredentialBackend(HeaderTransport("x-test-key", scheme=None, name="x-test-key"), strategy),),
        endpoints=(
            Endpoint("GET", "/test-key/whoami", whoami, auth="session", credentials=both),
            Endpoint("POST", "/test-key/act", whoami, auth="session", credentials=both),
            Endpoint("GET", "/test-key/only", whoami, auth="session", credentials=(KIND,)),
            Endpoint("GET", "/test-key/fresh", whoami, auth="fresh", credentials=both),
        ),
    )


@pytest.fixture
async def keyed(make_app: Callable[..., Any]) -> tuple[TestApp, TestKeys, dict[str, str]]:
    """An app with the plugin; Bob's key, and Ann signed up (her cookie in the client's jar)."""
    strategy = TestKeys()
    app: TestApp = await make_app(plugins=[key_plugin(strategy)])
    other = app.new_client()
    r = await other.post(
        app.api("/sign-up/email"),
        headers={"origin": ORIGIN},
        json={"email": "bob@example.com", "password": "a fine passphrase", "name": "Bob"},
    )
    await other.aclose()
    assert r.status_code == 200, r.text
    bob = "key-" + r.json()["token"]
    r = await app.sign_up()
    return app, strategy, {"bob": bob, "ann_bearer": r.headers["set-auth-token"]}


def bare(app: TestApp) -> httpx.AsyncClient:
    """A client with no cookies."""
    return app.new_client()


async def test_an_endpoint_that_names_the_kind_sees_the_credential(keyed: Any) -> None:
    app, _, tokens = keyed
    client = bare(app)
    r = await client.get(app.api("/test-key/whoami"), headers={"x-test-key": tokens["bob"]})
    assert r.status_code == 200, r.text
    assert r.json() == {"kind": KIND, "via": "x-test-key", "email": "bob@example.com", "session": False}
    r = await client.get(app.api("/test-key/only"), headers={"x-test-key": tokens["bob"]})
    assert r.json()["kind"] == KIND
    # An endpoint of that kind alone takes no session, by any transport.
    r = await client.get(app.api("/test-key/only"), headers={"authorization": f"Bearer {tokens['ann_bearer']}"})
    assert r.status_code == 401, r.text
    r = await app.client.get(app.api("/test-key/only"))
    assert r.status_code == 401, r.text
    # Only a session is fresh.
    r = await client.get(app.api("/test-key/fresh"), headers={"x-test-key": tokens["bob"]})
    assert (r.status_code, r.json()["code"]) == (403, "SESSION_NOT_FRESH"), r.text
    await client.aclose()


async def test_session_endpoints_never_see_it(keyed: Any) -> None:
    app, strategy, tokens = keyed
    client = bare(app)
    strategy.seen.clear()
    key = {"x-test-key": tokens["bob"]}
    r = await client.get(app.api("/get-session"), headers=key)
    assert r.status_code == 200 and r.json() is None, r.text
    r = await client.get(app.api("/list-sessions"), headers=key)
    assert r.status_code == 401, r.text
    r = await client.post(app.api("/update-user"), json={"name": "Mallory"}, headers={**key, "origin": ORIGIN})
    assert r.status_code == 401, r.text
    # Beside Ann's cookie, get-session is Ann's: the key is not even read.
    r = await app.client.get(app.api("/get-session"), headers=key)
    assert r.json()["user"]["email"] == "ann@example.com"
    assert strategy.seen == []
    await client.aclose()


async def test_a_live_key_wins_and_needs_no_origin(keyed: Any) -> None:
    app, _, tokens = keyed
    assert app.client.cookies.get("better-auth.session_token")  # Ann's cookie goes along
    r = await app.client.post(app.api("/test-key/act"), json={}, headers={"x-test-key": tokens["bob"], "origin": EVIL})
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "bob@example.com" and r.json()["kind"] == KIND
    r = await app.client.post(app.api("/test-key/act"), json={}, headers={"x-test-key": tokens["bob"]})
    assert r.status_code == 200, r.text


async def test_a_key_does_not_lift_the_origin_check_of_a_session_endpoint(keyed: Any) -> None:
    """The CSRF case: a live key on an endpoint that does not take keys is no credential
    there, so the cookie request it rides on is checked as any other."""
    app, _, tokens = keyed
    r = await app.client.post(
        app.api("/update-user"), json={"name": "Mallory"}, headers={"x-test-key": tokens["bob"], "origin": EVIL}
    )
    assert (r.status_code, r.json()["code"]) == (403, "INVALID_ORIGIN"), r.text
    r = await app.client.post(app.api("/update-user"), json={"name": "Mallory"}, headers={"x-test-key": tokens["bob"]})
    assert (r.status_code, r.json()["code"]) == (403, "MISSING_OR_NULL_ORIGIN"), r.text


@pytest.mark.parametrize("bogus", ["key-nonsense", "nonsense", "key-" + "A" * 32, ""])
async def test_a_bogus_key_is_ignored_and_the_cookie_is_judged(keyed: Any, bogus: str) -> None:
    app, _, _ = keyed
    r = await app.client.post(app.api("/test-key/act"), json={}, headers={"x-test-key": bogus, "origin": EVIL})
    assert (r.status_code, r.json()["code"]) == (403, "INVALID_ORIGIN"), r.text
    r = await app.client.post(app.api("/test-key/act"), json={}, headers={"x-test-key": bogus})
    assert (r.status_code, r.json()["code"]) == (403, "MISSING_OR_NULL_ORIGIN"), r.text
    r = await app.client.post(app.api("/test-key/act"), json={}, headers={"x-test-key": bogus, "origin": ORIGIN})
    assert r.status_code == 200, r.text
    assert r.json() == {"kind": SESSION, "via": "cookie", "email": "ann@example.com", "session": True}


async def test_header_credentials_are_tried_in_registration_order(keyed: Any) -> None:
    """The core's bearer comes before a plugin's header: both live, the bearer's session wins."""
    app, _, tokens = keyed
    client = bare(app)
    r = await client.get(
        app.api("/test-key/whoami"),
        headers={"authorization": f"Bearer {tokens['ann_bearer']}", "x-test-key": tokens["bob"]},
    )
    assert r.json() == {"kind": SESSION, "via": "bearer", "email": "ann@example.com", "session": True}
    # A bogus bearer is ignored: the key is next.
    r = await client.get(
        app.api("/test-key/whoami"), headers={"authorization": "Bearer nonsense", "x-test-key": tokens["bob"]}
    )
    assert r.json()["email"] == "bob@example.com" and r.json()["kind"] == KIND
    await client.aclose()


async def test_the_cors_preflight_allows_the_plugins_header(keyed: Any) -> None:
    app, _, _ = keyed
    r = await app.client.options(
        app.api("/test-key/act"), headers={"origin": ORIGIN, "access-control-request-method": "POST"}
    )
    assert r.headers["access-control-allow-headers"] == "content-type, authorization, x-test-key"


async def test_the_integrations_use_the_same_resolver(keyed: Any) -> None:
    app, _, tokens = keyed
    auth = app.auth
    host = FastAPI()
    deps = AuthDependencies(auth)
    deps.install(host)

    @host.post("/transfer")
    async def transfer(user: User = Depends(deps.current_user)) -> dict[str, str]:
        return {"by": user.email}

    @host.post("/keyed")
    async def keyed_route(request: Request) -> dict[str, str | None]:
        found = await auth.credentials.authenticate(request, (SESSION, KIND), unsafe=True)
        return {"kind": found.kind if found else None, "by": found.user.email if found else None}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=host), base_url=ORIGIN) as client:
        client.cookies.set("better-auth.session_token", app.client.cookies["better-auth.session_token"])
        # current_user takes sessions only: a live key is no credential to it, the cookie is judged.
        r = await client.post("/transfer", headers={"x-test-key": tokens["bob"], "origin": EVIL})
        assert (r.status_code, r.json()["code"]) == (403, "INVALID_ORIGIN"), r.text
        r = await client.post("/transfer", headers={"x-test-key": tokens["bob"], "origin": ORIGIN})
        assert r.json() == {"by": "ann@example.com"}
        # A route that takes keys: the live key wins and needs no Origin.
        r = await client.post("/keyed", headers={"x-test-key": tokens["bob"], "origin": EVIL})
        assert r.json() == {"kind": KIND, "by": "bob@example.com"}
        r = await client.post("/keyed", headers={"x-test-key": "key-nonsense", "origin": EVIL})
        assert (r.status_code, r.json()["code"]) == (403, "INVALID_ORIGIN"), r.text
        r = await client.post("/keyed", headers={"x-test-key": "key-nonsense", "origin": ORIGIN})
        assert r.json() == {"kind": SESSION, "by": "ann@example.com"}
