"""The FastAPI dependencies end to end (httpx over ASGI to the app, the app over real HTTP to
the stand-in auth server): claims, 401 with WWW-Authenticate, 403 by role and by permission,
and introspection forwarding the caller's cookie or bearer token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request

from authkeeper.verifier import CachePolicy, Claims, SessionInfo, Verifier, VerifierError
from authkeeper.verifier.fastapi import JWTAuth

from .support import SessionCall, StubAuthServer, signing_key
from .test_tokens import FORGED, forged

pytestmark = pytest.mark.anyio

ROLES = {"admin": {"user": ["list", "ban"], "audit": ["list"]}, "support": {"user": ["list"]}, "user": {}}
SESSION = {"id": "s1", "userId": "user-1", "token": "good-session-token", "expiresAt": "2099-01-01T00:00:00Z"}
USER = {"id": "user-1", "email": "ann@example.com", "role": "support"}


def build_app(verifier: Verifier, *, install: bool = True) -> FastAPI:
    app = FastAPI()
    auth = JWTAuth(verifier)
    if install:
        auth.install(app)

    @app.get("/me")
    async def me(claims: Claims = Depends(auth.current_claims)) -> dict[str, Any]:
        return {"sub": claims.sub, "roles": list(claims.roles), "email": claims.email}

    @app.get("/maybe")
    async def maybe(claims: Claims | None = Depends(auth.optional_claims)) -> dict[str, Any]:
        return {"sub": claims.sub if claims else None}

    @app.get("/admin", dependencies=[Depends(auth.require_role("admin"))])
    async def admin() -> dict[str, bool]:
        return {"ok": True}

    may_ban = auth.require_permission({"user": ["ban"]})

    @app.get("/ban")
    async def ban(claims: Claims = Depends(may_ban)) -> dict[str, str]:
        return {"by": claims.sub}

    @app.get("/users", dependencies=[Depends(auth.require_permission({"user": ["list"]}))])
    async def users() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/live")
    async def live(session: SessionInfo = Depends(auth.current_session)) -> dict[str, Any]:
        return {"sub": session.sub, "session": session.session["id"], "roles": list(session.roles)}

    @app.get("/manual")
    async def manual(request: Request) -> dict[str, str]:
        claims = await verifier.verify_authorization(request.headers.get("authorization"))  # raises through
        return {"sub": claims.sub}

    return app


@pytest.fixture
async def verifier(stub: StubAuthServer) -> AsyncIterator[Verifier]:
    v = Verifier(stub.jwks_url, roles=ROLES, timeout=0.5, cache=CachePolicy(retry_interval=0))
    yield v
    await v.aclose()


@pytest.fixture
async def client(verifier: Verifier) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(verifier))
    async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_valid_token_gives_the_claims(stub: StubAuthServer, client: httpx.AsyncClient) -> None:
    r = await client.get("/me", headers=bearer(signing_key("EdDSA").sign(stub.claims(role="admin,support"))))
    assert r.status_code == 200, r.text
    assert r.json() == {"sub": "user-1", "roles": ["admin", "support"], "email": "ann@example.com"}


async def test_no_token_is_401_with_www_authenticate(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}):
        r = await client.get("/me", headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json() == {"code": "MISSING_TOKEN", "message": "Authentication is required"}


async def test_optional_claims(stub: StubAuthServer, client: httpx.AsyncClient) -> None:
    assert (await client.get("/maybe")).json() == {"sub": None}
    token = signing_key("ES256").sign(stub.claims())
    assert (await client.get("/maybe", headers=bearer(token))).json() == {"sub": "user-1"}
    r = await client.get("/maybe", headers=bearer(token[:-4]))  # broken is not anonymous
    assert r.status_code == 401 and r.json()["code"] == "INVALID_TOKEN"


async def test_every_forged_token_is_a_401_never_a_500(stub: StubAuthServer, client: httpx.AsyncClient) -> None:
    matrix = forged(stub)
    for name in FORGED:
        token, code = matrix[name]
        r = await client.get("/me", headers={b"Authorization": f"Bearer {token}".encode()})
        assert (r.status_code, r.json()["code"]) == (401, code), name
        assert r.headers["www-authenticate"].startswith("Bearer"), name
        assert token not in r.text


async def test_role_and_permission(stub: StubAuthServer, client: httpx.AsyncClient) -> None:
    key = signing_key("RS256")
    support = bearer(key.sign(stub.claims(role="support")))
    admin = bearer(key.sign(stub.claims(role="support,admin", sub="boss")))
    r = await client.get("/admin", headers=support)
    assert (r.status_code, r.json()["code"]) == (403, "FORBIDDEN")
    assert "www-authenticate" not in r.headers
    assert (await client.get("/admin", headers=admin)).status_code == 200
    r = await client.get("/ban", headers=support)
    assert (r.status_code, r.json()) == (403, {"code": "FORBIDDEN", "message": "You are not allowed to do this"})
    assert (await client.get("/ban", headers=admin)).json() == {"by": "boss"}
    assert (await client.get("/users", headers=support)).status_code == 200
    assert (await client.get("/users")).status_code == 401


async def test_a_verifier_error_a_route_lets_through_is_answered(
    stub: StubAuthServer, client: httpx.AsyncClient
) -> None:
    r = await client.get("/manual", headers=bearer(signing_key("EdDSA").sign(stub.claims(iss="x"))))
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_ISSUER")
    assert (await client.get("/manual", headers=bearer(signing_key("EdDSA").sign(stub.claims())))).status_code == 200


async def test_without_install_the_status_is_still_right(stub: StubAuthServer, verifier: Verifier) -> None:
    transport = httpx.ASGITransport(app=build_app(verifier, install=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as c:
        r = await c.get("/me")
        assert r.status_code == 401
        assert r.json() == {"detail": {"code": "MISSING_TOKEN", "message": "Authentication is required"}}
        r = await c.get("/admin", headers=bearer(signing_key("EdDSA").sign(stub.claims(role="user"))))
        assert r.status_code == 403


async def test_jwks_down_is_503(stub: StubAuthServer, client: httpx.AsyncClient) -> None:
    stub.mode = "500"
    r = await client.get("/me", headers=bearer(signing_key("EdDSA").sign(stub.claims())))
    assert (r.status_code, r.json()["code"]) == (503, "JWKS_UNAVAILABLE")


async def test_the_openapi_document_declares_the_bearer_scheme(verifier: Verifier) -> None:
    schema = build_app(verifier).openapi()
    assert schema["components"]["securitySchemes"]["JWT"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT issued by the auth server",
    }


def test_require_permission_without_a_role_table_fails_at_declaration(stub: StubAuthServer) -> None:
    auth = JWTAuth(Verifier(stub.jwks_url))
    with pytest.raises(RuntimeError, match="role table"):
        auth.require_permission({"user": ["ban"]})
    with pytest.raises(TypeError):
        JWTAuth(Verifier(stub.jwks_url, roles=ROLES)).require_permission({"user": "ban"})


async def test_the_lifespan_warms_the_cache_and_survives_a_down_server(stub: StubAuthServer) -> None:
    verifier = Verifier(stub.jwks_url)
    async with JWTAuth(verifier).lifespan(FastAPI()):
        assert stub.jwks_requests == 1
    stub.mode = "500"
    async with JWTAuth(Verifier(stub.jwks_url, timeout=0.5)).lifespan(FastAPI()):
        pass  # the start goes on; the first request retries


# -- introspection ------------------------------------------------------------------------
def session_server(stub: StubAuthServer) -> None:
    def answer(call: SessionCall) -> tuple[int, Any]:
        good_cookie = "better-auth.session_token=good-session-token.c2lnbmF0dXJl" in (call.cookie or "")
        if good_cookie or call.authorization == "Bearer good-session-token":
            return 200, {"session": SESSION, "user": USER}
        return 200, None

    stub.session_answer = answer


async def test_introspection_forwards_only_the_auth_cookies(stub: StubAuthServer, client: httpx.AsyncClient) -> None:
    session_server(stub)
    cookie = "theme=dark; better-auth.session_token=good-session-token.c2lnbmF0dXJl; __Secure-better-auth.x=1"
    r = await client.get("/live", headers={"Cookie": cookie})
    assert r.status_code == 200, r.text
    assert r.json() == {"sub": "user-1", "session": "s1", "roles": ["support"]}
    call = stub.session_calls[-1]
    assert call.cookie == "better-auth.session_token=good-session-token.c2lnbmF0dXJl; __Secure-better-auth.x=1"
    assert call.authorization is None
    assert call.query == {"disableCookieCache": ["true"]}


async def test_introspection_forwards_the_bearer_and_keeps_no_cookie(
    stub: StubAuthServer, client: httpx.AsyncClient
) -> None:
    session_server(stub)
    stub.set_cookie = "better-auth.session_token=refreshed; Path=/; HttpOnly"
    r = await client.get("/live", headers=bearer("good-session-token"))
    assert r.status_code == 200
    r = await client.get("/live", headers=bearer("someone-elses-token"))
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_SESSION")
    # The cookie set in answer to the first caller never rides along with the second.
    assert [c.cookie for c in stub.session_calls] == [None, None]
    assert [c.authorization for c in stub.session_calls] == ["Bearer good-session-token", "Bearer someone-elses-token"]


async def test_introspection_refusals(stub: StubAuthServer, client: httpx.AsyncClient) -> None:
    session_server(stub)
    r = await client.get("/live")
    assert (r.status_code, r.json()["code"]) == (401, "MISSING_TOKEN")
    r = await client.get("/live", headers={"Cookie": "theme=dark"})  # nothing of the auth server's
    assert (r.status_code, r.json()["code"]) == (401, "MISSING_TOKEN")
    assert stub.session_calls == []
    r = await client.get("/live", headers={"Cookie": "better-auth.session_token=revoked.c2ln"})
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_SESSION")
    assert r.headers["www-authenticate"] == "Bearer"
    stub.session_answer = lambda _call: (401, {"code": "UNAUTHORIZED"})
    r = await client.get("/live", headers=bearer("x"))
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_SESSION")


@pytest.mark.parametrize("mode", ["stopped", "hang", "500", "not a session", "404"])
async def test_introspection_is_503_when_the_auth_server_cannot_answer(
    stub: StubAuthServer, client: httpx.AsyncClient, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    if mode == "stopped":
        stub.stop()
    elif mode == "not a session":
        stub.session_answer = lambda _call: (200, {"session": "yes"})
    elif mode == "404":
        stub.session_answer = lambda _call: (404, {"message": "not found"})
    else:
        stub.mode = mode
    caplog.set_level("WARNING", "authkeeper.verifier")
    r = await client.get("/live", headers={**bearer("good-session-token"), "Cookie": "better-auth.x=secret-cookie"})
    assert (r.status_code, r.json()["code"]) == (503, "AUTH_SERVER_UNAVAILABLE")
    assert "get-session" in caplog.text  # logged, without what the caller sent
    assert "good-session-token" not in caplog.text and "secret-cookie" not in caplog.text


async def test_introspection_is_never_cached(stub: StubAuthServer, verifier: Verifier) -> None:
    session_server(stub)
    assert (await verifier.introspect(authorization="Bearer good-session-token")).sub == "user-1"
    stub.session_answer = lambda _call: (200, None)  # signed out on the auth server
    with pytest.raises(VerifierError, match="INVALID_SESSION"):
        await verifier.introspect(authorization="Bearer good-session-token")
    for bad in ("Bearer bad\r\nX-Injected: 1", "Bearer caf\xe9", "Bearer " + "a" * 9000):
        with pytest.raises(VerifierError, match="MISSING_TOKEN"):
            await verifier.introspect(authorization=bad)
    with pytest.raises(VerifierError, match="MISSING_TOKEN"):
        await verifier.introspect(cookie="better-auth.session_token=caf\xe9")
    assert len(stub.session_calls) == 2
