"""The verifier against the real auth server (its jwt plugin, in process): a token from
``GET /token`` verifies for every algorithm the server can sign with, with the JWKS lifetime
the server announces; introspection sees the session by cookie and by bearer token, and its end
at once, while the JWT itself stays valid until it expires."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from authkeeper.plugins.jwt.settings import JwtSettings
from authkeeper.verifier import Verifier, VerifierError
from tests.conftest import ORIGIN, TestApp

pytestmark = pytest.mark.anyio


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
        verifier = Verifier(f"{ORIGIN}/api/auth/jwks", client=to_server, default_role="user")
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
