"""Response headers on every API answer, secure cookies, CORS, and bearer tokens
(spec §1.6, §2.1–§2.3, §8.4; ASVS 3.4.1, 3.4.2, 14.3.2)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import quote

import httpx
import pytest

from authkeeper.core.settings import CookieSettings, RateLimitSettings
from authkeeper.server import create_server_app
from tests.conftest import ORIGIN, TestApp
from tests.http._assertions import assert_error

pytestmark = pytest.mark.anyio

CREDENTIALS = {"email": "ann@example.com", "password": "a fine passphrase"}
SIGN_UP = {**CREDENTIALS, "name": "Ann"}
TRUSTED = "https://app.example.org"


def assert_api_headers(r: httpx.Response, *, https: bool = False) -> None:
    h = r.headers
    assert h.get("cache-control") == "no-store", (r.request.url, h)
    assert h.get("pragma") == "no-cache"
    assert h.get("x-content-type-options") == "nosniff"
    assert "frame-ancestors 'none'" in h.get("content-security-policy", "")
    assert h.get("x-frame-options") == "DENY"
    assert h.get("referrer-policy") == "no-referrer"
    if https:
        hsts = h.get("strict-transport-security", "")
        assert hsts.startswith("max-age=") and int(hsts.split(";")[0].split("=")[1]) >= 31536000, hsts
    else:
        assert "strict-transport-security" not in h
    assert h.get("access-control-allow-origin") != "*"


async def many_responses(
    app: TestApp, client: httpx.AsyncClient, origin: str, *, every_kind: bool = True
) -> list[httpx.Response]:
    """One of each kind of answer the API gives: 2xx, 3xx, 4xx of every family, 204."""
    api = app.api
    o = {"origin": origin}
    out = [
        await client.get(api("/ok")),
        await client.get(api("/get-session")),
        await client.post(api("/sign-up/email"), json=SIGN_UP, headers=o),
        await client.get(api("/get-session")),
        await client.get(api("/list-sessions")),
        await client.post(api("/update-user"), json={"name": "Ann B"}, headers=o),
        await client.post(api("/get-session"), json={}, headers=o),
        await client.post(api("/update-user"), json={"name": 5}, headers=o),
        await client.post(api("/update-user"), content=b"{", headers={**o, "content-type": "application/json"}),
        await client.post(api("/update-user"), content=b"x", headers={**o, "content-type": "text/plain"}),
        await client.post(api("/update-user"), json={"name": "x"}, headers={"origin": "https://evil.com"}),
        await client.post(api("/sign-in/email"), json={**CREDENTIALS, "password": "wrong password"}, headers=o),
        await client.post(
            api("/update-user"), content=b" " * (1024 * 1024 + 1), headers={**o, "content-type": "application/json"}
        ),
        await client.get(api("/verify-email"), params={"token": "bad", "callbackURL": "/after"}),
        await client.get(api("/verify-email"), params={"token": "bad"}),
        await client.get(api("/reset-password/nope"), params={"callbackURL": "/reset"}),
        await client.get(api("/error"), params={"error": "SOMETHING"}),
        await client.get(api("/no-such-path")),
        await client.request("DELETE", api("/ok")),
        await client.options(api("/sign-in/email"), headers={**o, "access-control-request-method": "POST"}),
        await client.post(api("/sign-out"), json={}, headers=o),
        await client.get(api("/list-sessions")),
    ]
    if every_kind:
        statuses = {r.status_code for r in out}
        assert {200, 204, 302, 400, 401, 403, 404, 405, 413, 415} <= statuses, statuses
    return out


async def test_every_api_response_has_the_security_headers(app: TestApp) -> None:
    client = app.new_client()
    for r in await many_responses(app, client, ORIGIN):
        assert_api_headers(r)
    await client.aclose()


async def test_rate_limited_and_failed_responses_have_the_security_headers(
    make_app, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(rate_limit=RateLimitSettings())
    await app.sign_up()
    for _ in range(3):
        await app.sign_in(password="wrong password")
    r = await app.sign_in(password="wrong password")
    assert_error(r, 429, "TOO_MANY_REQUESTS")
    assert_api_headers(r)

    async def broken(_token: str) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(app.auth.store, "find_session", broken)
    r = await app.get("/get-session")
    assert_error(r, 500, "INTERNAL_SERVER_ERROR", "Internal server error")
    assert "database went away" not in r.text
    assert_api_headers(r)


async def https_app(make_app, **overrides: Any) -> tuple[TestApp, httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    app = await make_app(base_url="https://testserver", trusted_origins=(TRUSTED,), **overrides)
    transport = httpx.ASGITransport(app=create_server_app(app.auth))
    return app, httpx.AsyncClient(transport=transport, base_url="https://testserver")


async def test_hsts_and_security_headers_when_base_url_is_https(make_app) -> None:  # type: ignore[no-untyped-def]
    app, client = await https_app(make_app)
    for r in await many_responses(app, client, "https://testserver"):
        assert_api_headers(r, https=True)
    await client.aclose()


async def test_no_hsts_over_http(app: TestApp) -> None:
    r = await app.get("/ok")
    assert "strict-transport-security" not in r.headers


async def test_secure_cookie_prefix_and_attribute_when_base_url_is_https(make_app) -> None:  # type: ignore[no-untyped-def]
    app, client = await https_app(make_app)
    o = {"origin": "https://testserver"}
    r = await client.post(app.api("/sign-up/email"), json=SIGN_UP, headers=o)
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("__Secure-better-auth.session_token=")
    assert "; Secure;" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert (await client.get(app.api("/get-session"))).json()["user"]["email"] == "ann@example.com"
    client.cookies.clear()
    r = await client.post(app.api("/sign-in/email"), json={**CREDENTIALS, "rememberMe": False}, headers=o)
    cookies = r.headers.get_list("set-cookie")
    assert len(cookies) == 2
    assert all(c.startswith("__Secure-better-auth.") and "; Secure;" in c for c in cookies), cookies
    r = await client.post(app.api("/sign-out"), json={}, headers=o)
    cookies = r.headers.get_list("set-cookie")
    assert cookies and all(c.startswith("__Secure-better-auth.") and "; Secure;" in c for c in cookies), cookies
    # A cookie without the prefix is not the session cookie over https.
    client.cookies.clear()
    r = await client.post(app.api("/sign-in/email"), json=CREDENTIALS, headers=o)
    value = r.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    client.cookies.clear()
    r = await client.get(app.api("/get-session"), headers={"cookie": f"better-auth.session_token={value}"})
    assert r.json() is None
    await client.aclose()


async def test_plain_cookies_over_http(app: TestApp) -> None:
    r = await app.post("/sign-up/email", SIGN_UP)
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("better-auth.session_token=")
    assert "Secure" not in cookie


async def test_secure_cookies_can_be_forced(make_app) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(cookies=CookieSettings(secure=True))
    r = await app.post("/sign-up/email", SIGN_UP)
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("__Secure-better-auth.session_token=") and "; Secure;" in cookie


# -- CORS ---------------------------------------------------------------------------------
async def cors_app(make_app) -> TestApp:  # type: ignore[no-untyped-def]
    return await make_app(trusted_origins=(TRUSTED, "*.example.com"))


@pytest.mark.parametrize("origin", [TRUSTED, "https://shop.example.com", ORIGIN])
async def test_trusted_origin_gets_its_own_origin_back_with_credentials(make_app, origin: str) -> None:  # type: ignore[no-untyped-def]
    app = await cors_app(make_app)
    client = app.new_client()
    for r in (
        await client.get(app.api("/ok"), headers={"origin": origin}),
        await client.post(app.api("/sign-in/email"), json=CREDENTIALS, headers={"origin": origin}),
        await client.get(app.api("/no-such-path"), headers={"origin": origin}),
    ):
        assert r.headers["access-control-allow-origin"] == origin
        assert r.headers["access-control-allow-credentials"] == "true"
        assert "origin" in r.headers.get("vary", "").lower()
    await client.aclose()


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.com",
        "null",
        "*",
        "https://example.com",
        "https://app.example.org.evil.net",
        "http://app.example.org",
        "",
    ],
)
async def test_untrusted_origin_gets_no_cors_headers(make_app, origin: str) -> None:  # type: ignore[no-untyped-def]
    app = await cors_app(make_app)
    client = app.new_client()
    for r in (
        await client.get(app.api("/ok"), headers={"origin": origin}),
        await client.get(app.api("/get-session"), headers={"origin": origin}),
        await client.options(
            app.api("/sign-in/email"), headers={"origin": origin, "access-control-request-method": "POST"}
        ),
    ):
        assert "access-control-allow-origin" not in r.headers, (origin, r.headers)
        assert "access-control-allow-credentials" not in r.headers
        assert "access-control-allow-methods" not in r.headers
    await client.aclose()


async def test_no_origin_gets_no_cors_headers(app: TestApp) -> None:
    r = await app.get("/ok")
    assert "access-control-allow-origin" not in r.headers


async def test_preflight_from_a_trusted_origin(make_app) -> None:  # type: ignore[no-untyped-def]
    app = await cors_app(make_app)
    r = await app.client.options(
        app.api("/sign-in/email"),
        headers={
            "origin": TRUSTED,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type, authorization",
        },
    )
    assert 200 <= r.status_code < 300
    assert r.headers["access-control-allow-origin"] == TRUSTED
    assert r.headers["access-control-allow-credentials"] == "true"
    methods = {m.strip() for m in r.headers["access-control-allow-methods"].split(",")}
    assert {"GET", "POST", "OPTIONS"} <= methods
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"content-type", "authorization"} <= allowed
    assert int(r.headers["access-control-max-age"]) > 0
    assert_api_headers(r)


async def test_cors_responses_expose_set_auth_token(make_app) -> None:  # type: ignore[no-untyped-def]
    app = await cors_app(make_app)
    r = await app.client.post(app.api("/sign-up/email"), json=SIGN_UP, headers={"origin": TRUSTED})
    assert r.headers["access-control-allow-origin"] == TRUSTED
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert "set-auth-token" in exposed


@pytest.mark.parametrize("origin", [TRUSTED, "https://evil.com", "*", "null"])
async def test_cors_never_answers_with_a_wildcard(make_app, origin: str) -> None:  # type: ignore[no-untyped-def]
    app = await cors_app(make_app)
    client = app.new_client()
    for r in await many_responses(app, client, origin, every_kind=False):
        assert r.headers.get("access-control-allow-origin") in (None, TRUSTED), r.headers
        if origin != TRUSTED:
            assert "access-control-allow-origin" not in r.headers
    await client.aclose()


# -- bearer tokens ------------------------------------------------------------------------
def signature(token: str, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), token.encode(), hashlib.sha256).digest()).decode()


async def signed_in(app: TestApp) -> tuple[str, str]:
    """(raw token, set-auth-token header) of a fresh sign-in."""
    await app.sign_up()
    client = app.new_client()
    r = await client.post(app.api("/sign-in/email"), json=CREDENTIALS)
    await client.aclose()
    assert r.status_code == 200, r.text
    return r.json()["token"], r.headers["set-auth-token"]


async def test_sign_in_sends_set_auth_token(app: TestApp) -> None:
    from tests.conftest import SECRET

    token, header = await signed_in(app)
    assert len(token) == 32
    assert header == f"{token}.{signature(token, SECRET)}"
    assert "%" not in header


async def bearer_session(app: TestApp, authorization: str | bytes) -> httpx.Response:
    client = app.new_client()
    # httpx takes str or bytes values at runtime; its annotation wants one kind for a whole mapping.
    r = await client.get(app.api("/get-session"), headers=cast(dict[str, str], {"authorization": authorization}))
    await client.aclose()
    return r


async def test_signed_bearer_token_authenticates(app: TestApp) -> None:
    token, header = await signed_in(app)
    for value in (f"Bearer {header}", f"bearer {header}", f"BEARER {header}", f"Bearer {quote(header, safe='')}"):
        r = await bearer_session(app, value)
        assert r.status_code == 200, r.text
        assert r.json()["session"]["token"] == token, value


async def test_raw_32_character_token_authenticates(app: TestApp) -> None:
    token, _ = await signed_in(app)
    r = await bearer_session(app, f"Bearer {token}")
    assert r.json()["session"]["token"] == token
    assert r.json()["user"]["email"] == "ann@example.com"


async def test_bearer_token_works_on_session_endpoints(app: TestApp) -> None:
    token, header = await signed_in(app)
    client = app.new_client()
    r = await client.post(
        app.api("/update-user"), json={"name": "Ann Bearer"}, headers={"authorization": f"Bearer {header}"}
    )
    assert r.status_code == 200, r.text
    r = await client.get(app.api("/list-sessions"), headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 200 and len(r.json()) == 2
    await client.aclose()
    assert (await app.auth.store.find_user_by_email("ann@example.com")).name == "Ann Bearer"  # type: ignore[union-attr]


def tampered(header: str) -> str:
    token, _, sig = header.partition(".")
    flipped = ("B" if sig[0] == "A" else "A") + sig[1:]
    return f"{token}.{flipped}"


BAD_BEARERS: list[Callable[[str, str], str | bytes]] = [
    lambda token, header: f"Bearer {tampered(header)}",
    lambda token, header: f"Bearer {token}.{signature(token, 'another-secret-0123456789abcdefghijklmnop')}",
    lambda token, header: f"Bearer {header[:-1]}",
    lambda token, header: f"Bearer {token}.",
    lambda token, header: f"Bearer .{header.partition('.')[2]}",
    lambda token, header: f"Bearer {token[:-1]}.{signature(token[:-1], 'x')}",
    lambda token, header: f"Bearer {token}x",
    lambda token, header: f"Bearer {token[:-1]}",
    lambda token, header: f"Bearer {token[:-1]}!",
    lambda token, header: "Bearer",
    lambda token, header: "Bearer ",
    lambda token, header: "Bearer a.b",
    lambda token, header: "Bearer a.b.c",
    lambda token, header: "Bearer %",
    lambda token, header: "Bearer %zz.%zz",
    lambda token, header: "Bearer " + "a" * 8000,
    lambda token, header: "Bearer " + "a." * 4000,
    lambda token, header: f"Basic {token}",
    lambda token, header: f"Token {header}",
    lambda token, header: header,
    lambda token, header: b"Bearer \xff\xfe" + token.encode()[2:],
    lambda token, header: b"Bearer " + token.encode() + b"." + b"\xc3\xa9" * 22,
]


@pytest.mark.parametrize("make_value", BAD_BEARERS)
async def test_bad_bearer_tokens_are_ignored(app: TestApp, make_value: Callable[[str, str], str | bytes]) -> None:
    token, header = await signed_in(app)
    value = make_value(token, header)
    r = await bearer_session(app, value)
    assert r.status_code == 200, r.text
    assert r.json() is None
    client = app.new_client()
    r = await client.get(app.api("/list-sessions"), headers=cast(dict[str, str], {"authorization": value}))
    await client.aclose()
    assert_error(r, 401, "UNAUTHORIZED")


async def test_bearer_token_of_a_revoked_session_is_ignored(app: TestApp) -> None:
    token, header = await signed_in(app)
    client = app.new_client()
    r = await client.post(app.api("/sign-out"), json={}, headers={"authorization": f"Bearer {header}"})
    await client.aclose()
    assert r.status_code == 200
    assert (await bearer_session(app, f"Bearer {header}")).json() is None
    assert (await bearer_session(app, f"Bearer {token}")).json() is None


async def test_a_bad_bearer_falls_back_to_the_cookie(app: TestApp) -> None:
    await app.sign_up()  # app.client holds the cookie
    r = await app.get("/get-session", headers={"authorization": "Bearer garbage.value"})
    assert r.json()["user"]["email"] == "ann@example.com"
