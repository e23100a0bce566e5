"""The verifier against the real auth server (its jwt plugin, in process): a token from
``GET /token`` verifies for every algorithm the server can sign with, with the JWKS lifetime
the server announces; introspection sees the session by cookie and by bearer token, and its end
at once, while the JWT itself stays valid until it expires; an impersonation session says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from authkeeper.plugins.jwt.settings import JwtSettings
from authkeeper.verifier import Verifier, VerifierError
from tests.conftest import ORIGIN, TestApp
from tests.plugins.admin.helpers import World

pytestmark = pytest.mark.anyio

# The in-process server answers whatever the host; get-session is named on a loopback one,
# since an http:// session URL to another host is refused (cookies would travel in clear).
SESSION_URL = "http://127.0.0.1/api/auth/get-session"


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "ES512", "RS256", "PS256"])
async def test_a_token_of_the_server_verifies_and_introspection_sees_the_sign_out(
    make_app: Callable[..., Any], alg: str
) -> None:
    app: TestApp = await make_app(jwt=JwtSettings(enabled=True, algorithm=alg))
    signed_up = await app.sign_up("ann@example.com", "a fine passphrase", "Ann")
    session_token = signed_up.headers["set-auth-token"]
    r = await app.get("/token")
    assert r.status_code == 200, r.text
    token = r.json()["token"]

    async with app.new_client() as to_server:
        verifier = Verifier(f"{ORIGIN}/api/auth/jwks", client=to_server, default_role="user", session_url=SESSION_URL)
        claims = await verifier.verify(token)
        assert (claims.email, claims["name"]) == ("ann@example.com", "Ann")
        assert claims.roles == ("user",)
        assert verifier.jwks.keyset is not None and verifier.jwks.keyset.ttl == 300

        cookie = "; ".join(f"{name}={value}" for name, value in app.client.cookies.items())
        assert (await verifier.introspect(cookie=cookie)).sub == claims.sub
        assert (await verifier.introspect(authorization=f"Bearer {session_token}")).sub == claims.sub

        assert (await app.post("/sign-out")).status_code == 200
        with pytest.raises(VerifierError, match="INVALID_SESSION"):
            await verifier.introspect(authorization=f"Bearer {session_token}")
        assert (await verifier.verify(token)).sub == claims.sub  # offline: valid until exp


async def test_introspection_tells_an_impersonation_session(make_app: Callable[..., Any]) -> None:
    world = await World(await make_app()).setup()
    try:
        r = await world.admin.post("/admin/impersonate-user", {"userId": world.plain_user.id})
        assert r.status_code == 200, r.text
        impersonation = r.json()["session"]["token"]
        own = (await world.user.session())["session"]["token"]
        async with world.app.new_client() as to_server:
            verifier = Verifier(f"{ORIGIN}/api/auth/jwks", client=to_server, session_url=SESSION_URL)
            session = await verifier.introspect(authorization=f"Bearer {impersonation}")
            assert (session.sub, session.impersonated_by) == (world.plain_user.id, world.admin_user.id)
            session = await verifier.introspect(authorization=f"Bearer {own}")
            assert (session.sub, session.impersonated_by) == (world.plain_user.id, None)
    finally:
        await world.close()
