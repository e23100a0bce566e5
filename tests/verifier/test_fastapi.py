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

    # The same on every other method, for the Origin checks (one operation in the schema).
    other = ["HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]
    app.add_api_route("/live", live, methods=other, include_in_schema=False)

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
    assert call.query == {"disableCookieCache": ["true"], "disableRefresh": ["true"]}


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


async def test_introspection_asks_for_no_refresh(stub: StubAuthServer, verifier: Verifier) -> None:
    """A refresh would slide the session and answer a Set-Cookie only the verifier sees: the
    browser's cookie would then expire on its old date while the session lived on."""
    session_server(stub)
    stub.set_cookie = "better-auth.session_token=refreshed; Path=/; HttpOnly"
    assert (await verifier.introspect(authorization="Bearer good-session-token")).sub == "user-1"
    assert (await verifier.introspect(cookie=GOOD_COOKIE["Cookie"])).sub == "user-1"
    assert [c.query for c in stub.session_calls] == [{"disableCookieCache": ["true"], "disableRefresh": ["true"]}] * 2


# -- CSRF: introspection by cookie on an unsafe method ----------------------------------------
GOOD_COOKIE = {"Cookie": "theme=dark; better-auth.session_token=good-session-token.c2lnbmF0dXJl"}
APP_ORIGIN = "https://app.example.com"
EVIL = "https://evil.example"


@pytest.fixture
async def trusting(stub: StubAuthServer) -> AsyncIterator[httpx.AsyncClient]:
    """A service whose front end is APP_ORIGIN (spelled as an operator might)."""
    v = Verifier(stub.jwks_url, roles=ROLES, timeout=0.5, trusted_origins=["HTTPS://App.Example.com:443"])
    transport = httpx.ASGITransport(app=build_app(v))
    async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as c:
        yield c
    await v.aclose()


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_an_unsafe_request_by_cookie_from_elsewhere_is_refused_before_the_auth_server_is_asked(
    stub: StubAuthServer, trusting: httpx.AsyncClient, method: str
) -> None:
    session_server(stub)
    for extra in (
        {},  # neither Origin nor Referer
        {"Origin": EVIL},
        {"Origin": "null"},  # an opaque origin (a sandboxed frame, a data: URL)
        {"Referer": f"{EVIL}/page"},
        {"Origin": EVIL, "Referer": f"{APP_ORIGIN}/settings"},  # the Origin is what counts
        {"Origin": f"{APP_ORIGIN}.evil.example"},
        {"Origin": "http://app.example.com"},  # another scheme is another origin
        {"Origin": "https://app.example.com:8443"},  # so is another port
        {"Origin": "garbage"},
        {"Referer": "null"},
        {"Origin": EVIL, "Authorization": "Basic dXNlcjpwYXNz"},  # not a bearer: the cookie would count
        {"Origin": EVIL, "Authorization": "Bearer"},
    ):
        r = await trusting.request(method, "/live", headers={**GOOD_COOKIE, **extra})
        assert (r.status_code, r.json()) == (
            403,
            {"code": "INVALID_ORIGIN", "message": "The request does not come from a trusted origin"},
        ), extra
        assert "www-authenticate" not in r.headers
    assert stub.session_calls == []


async def test_an_unsafe_request_by_cookie_from_a_trusted_origin_is_introspected(
    stub: StubAuthServer, trusting: httpx.AsyncClient
) -> None:
    session_server(stub)
    for extra in (
        {"Origin": APP_ORIGIN},
        {"Origin": "https://APP.example.com:443"},
        {"Origin": stub.origin},  # the issuer's origin is always trusted
        {"Referer": f"{APP_ORIGIN}/settings?tab=1"},  # no Origin at all: the Referer's
    ):
        r = await trusting.post("/live", headers={**GOOD_COOKIE, **extra})
        assert r.status_code == 200, (extra, r.text)
    assert len(stub.session_calls) == 4
    assert stub.session_calls[-1].cookie == "better-auth.session_token=good-session-token.c2lnbmF0dXJl"


async def test_a_bearer_or_a_safe_method_needs_no_origin(stub: StubAuthServer, trusting: httpx.AsyncClient) -> None:
    session_server(stub)
    r = await trusting.post("/live", headers={**bearer("good-session-token"), **GOOD_COOKIE, "Origin": EVIL})
    assert r.status_code == 200, r.text
    # The bearer is the credential: the cookie is not forwarded, so it cannot stand in for it.
    assert stub.session_calls[-1] == SessionCall(
        None, "Bearer good-session-token", {"disableCookieCache": ["true"], "disableRefresh": ["true"]}
    )
    for method in ("GET", "HEAD", "OPTIONS"):
        r = await trusting.request(method, "/live", headers={**GOOD_COOKIE, "Origin": EVIL})
        assert r.status_code == 200, method
    # No cookie of the auth server's: nothing would be forwarded, the credential is missing.
    r = await trusting.post("/live", headers={"Cookie": "theme=dark", "Origin": EVIL})
    assert (r.status_code, r.json()["code"]) == (401, "MISSING_TOKEN")
    assert len(stub.session_calls) == 4


async def test_the_origin_check_without_fastapi(stub: StubAuthServer, verifier: Verifier) -> None:
    session_server(stub)
    assert verifier.trusted_origins == {stub.origin}
    with pytest.raises(VerifierError) as caught:
        await verifier.introspect_request("POST", {"Cookie": GOOD_COOKIE["Cookie"], "Origin": EVIL})
    assert (caught.value.status, caught.value.code) == (403, "INVALID_ORIGIN")
    assert stub.session_calls == []
    # A plain dict, its names in any case; the method in any case.
    headers = {"COOKIE": GOOD_COOKIE["Cookie"], "origin": stub.origin}
    assert (await verifier.introspect_request("post", headers)).sub == "user-1"
    verifier.check_origin("GET", {"Cookie": GOOD_COOKIE["Cookie"], "Origin": EVIL})
    verifier.check_origin("DELETE", {"Cookie": GOOD_COOKIE["Cookie"], "Authorization": "Bearer t", "Origin": EVIL})
    with pytest.raises(VerifierError, match="INVALID_ORIGIN"):
        verifier.check_origin("DELETE", {"Cookie": GOOD_COOKIE["Cookie"]})


def test_trusted_origins_are_normalised_and_checked_at_construction(stub: StubAuthServer) -> None:
    v = Verifier(stub.jwks_url, trusted_origins=["https://App.example.com:443/", "http://localhost:3000"])
    assert v.trusted_origins == {stub.origin, "https://app.example.com", "http://localhost:3000"}
    with pytest.raises(TypeError):
        Verifier(stub.jwks_url, trusted_origins="https://app.example.com")
    for bad in ("app.example.com", "*", "null"):
        with pytest.raises(ValueError):
            Verifier(stub.jwks_url, trusted_origins=[bad])


# -- where introspection may send the caller's credential -------------------------------------
def recording(seen: list[str]) -> httpx.AsyncClient:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=b"null")  # get-session without a session

    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


async def test_a_jwks_on_another_origin_gives_no_session_url() -> None:
    """A JWKS on a CDN: deriving get-session from it would send the users' cookies and
    session tokens to the CDN."""
    seen: list[str] = []
    async with recording(seen) as client:
        cdn = Verifier("https://cdn.example.net/api/auth/jwks", issuer="https://auth.example.com", client=client)
        assert cdn.session_url is None
        with pytest.raises(RuntimeError, match="session_url") as caught:
            await cdn.introspect(authorization="Bearer good-session-token")
        assert "cdn.example.net" in str(caught.value)
        auth = JWTAuth(cdn)  # a service that only verifies JWTs is fine
        app = FastAPI()
        with pytest.raises(RuntimeError, match="current_session needs the verifier's session_url"):

            @app.post("/close")
            async def close(session: SessionInfo = Depends(auth.current_session)) -> None: ...

        assert seen == []
        given = Verifier(
            "https://cdn.example.net/api/auth/jwks",
            issuer="https://auth.example.com",
            session_url="https://auth.example.com/api/auth/get-session",
            client=client,
        )
        with pytest.raises(VerifierError, match="INVALID_SESSION"):
            await given.introspect(authorization="Bearer good-session-token")
        assert seen == ["https://auth.example.com/api/auth/get-session?disableCookieCache=true&disableRefresh=true"]


def test_the_session_url_is_derived_only_where_safe() -> None:
    assert Verifier("https://auth.example.com/api/auth/jwks").session_url == (
        "https://auth.example.com/api/auth/get-session"
    )
    spelled = Verifier("https://auth.example.com/api/auth/jwks", issuer="https://Auth.Example.com:443")
    assert spelled.session_url == "https://auth.example.com/api/auth/get-session"
    odd = Verifier("https://auth.example.com/keys.json")
    assert odd.session_url is None and odd.no_session_url is not None and "/jwks" in odd.no_session_url
    for loopback in ("http://127.0.0.1:8000", "http://[::1]:8000", "http://localhost:8000"):
        assert Verifier(f"{loopback}/api/auth/jwks").session_url == f"{loopback}/api/auth/get-session"
        url = f"{loopback}/api/auth/get-session"
        assert Verifier("https://auth.example.com/api/auth/jwks", session_url=url).session_url == url


def test_an_http_session_url_to_another_host_is_refused() -> None:
    """Cookies, ``__Secure-`` ones included, and session tokens would travel in clear."""
    with pytest.raises(ValueError, match="unencrypted"):
        Verifier("https://auth.example.com/api/auth/jwks", session_url="http://auth.example.com/api/auth/get-session")
    for bad in ("/api/auth/get-session", "ftp://auth.example.com/get-session"):
        with pytest.raises(ValueError):
            Verifier("https://auth.example.com/api/auth/jwks", session_url=bad)
    internal = Verifier("http://auth.internal/api/auth/jwks")  # its JWTs verify; no introspection
    assert internal.session_url is None
    assert internal.no_session_url is not None and "unencrypted" in internal.no_session_url
    with pytest.raises(RuntimeError, match="unencrypted"):
        _ = JWTAuth(internal).current_session


# -- optional_claims: a credential that is not a bearer is not "anonymous" --------------------
async def test_optional_claims_refuses_any_other_authorization(stub: StubAuthServer, client: httpx.AsyncClient) -> None:
    for value in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "Token abc", "bearer", ""):
        r = await client.get("/maybe", headers={"Authorization": value})
        assert (r.status_code, r.json()["code"]) == (401, "INVALID_TOKEN"), value
        assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    token = signing_key("EdDSA").sign(stub.claims())
    r = await client.get("/maybe", headers=[("Authorization", f"Bearer {token}"), ("Authorization", "Basic eA==")])
    assert (r.status_code, r.json()["code"]) == (401, "INVALID_TOKEN")
    assert (await client.get("/maybe", headers={"Authorization": f"bearer {token}"})).json() == {"sub": "user-1"}
    assert (await client.get("/maybe")).json() == {"sub": None}


async def test_optional_claims_still_shows_the_bearer_scheme(verifier: Verifier) -> None:
    schema = build_app(verifier).openapi()
    assert schema["paths"]["/maybe"]["get"]["security"] == [{"JWT": []}]
    assert schema["paths"]["/me"]["get"]["security"] == [{"JWT": []}]
    assert "parameters" not in schema["paths"]["/maybe"]["get"]  # the Request is no parameter


# -- impersonation ----------------------------------------------------------------------------
def test_session_info_tells_an_impersonation_session() -> None:
    assert SessionInfo({**SESSION, "impersonatedBy": "admin-1"}, USER, ()).impersonated_by == "admin-1"
    for value in (None, "", 42):
        assert SessionInfo({**SESSION, "impersonatedBy": value}, USER, ()).impersonated_by is None
    assert SessionInfo(SESSION, USER, ()).impersonated_by is None


async def test_introspection_tells_an_impersonation_session(stub: StubAuthServer, verifier: Verifier) -> None:
    stub.session_answer = lambda _call: (200, {"session": {**SESSION, "impersonatedBy": "admin-1"}, "user": USER})
    session = await verifier.introspect(authorization="Bearer good-session-token")
    assert (session.sub, session.impersonated_by) == ("user-1", "admin-1")
