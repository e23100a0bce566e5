"""Origin/CSRF checks, login CSRF and open-redirect protection (spec §6.1–§6.3)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from authkeeper.core.redirects import OriginPolicy, origin_of
from tests.conftest import ORIGIN, TestApp
from tests.http._assertions import assert_error

pytestmark = pytest.mark.anyio

CREDENTIALS = {"email": "ann@example.com", "password": "a fine passphrase"}
SIGN_UP = {**CREDENTIALS, "name": "Ann"}


async def name_of(app: TestApp, email: str = "ann@example.com") -> str:
    user = await app.auth.store.find_user_by_email(email)
    assert user is not None
    return user.name


async def session_count(app: TestApp, email: str = "ann@example.com") -> int:
    user = await app.auth.store.find_user_by_email(email)
    assert user is not None
    return len(await app.auth.store.list_sessions(user.id, app.ctx.now()))


async def update_name(app: TestApp, headers: dict[str, str], name: str = "Mallory") -> Any:
    """POST /update-user from the signed-in client (its cookie jar sends the session)."""
    return await app.client.post(app.api("/update-user"), json={"name": name}, headers=headers)


# -- origin check on cookie-bearing requests ------------------------------------------------
async def test_cookie_post_without_origin_or_referer_is_403_missing_or_null_origin(app: TestApp) -> None:
    await app.sign_up()
    r = await update_name(app, {})
    assert "cookie" in r.request.headers and "origin" not in r.request.headers
    assert_error(r, 403, "MISSING_OR_NULL_ORIGIN", "Missing or null Origin")
    assert await name_of(app) == "Ann"


async def test_origin_null_is_403_missing_or_null_origin(app: TestApp) -> None:
    await app.sign_up()
    r = await update_name(app, {"origin": "null"})
    assert_error(r, 403, "MISSING_OR_NULL_ORIGIN")
    r = await update_name(app, {"origin": "null", "referer": f"{ORIGIN}/settings"})
    assert_error(r, 403, "MISSING_OR_NULL_ORIGIN")
    r = await update_name(app, {"origin": "null", "sec-fetch-site": "cross-site"})
    assert_error(r, 403, "MISSING_OR_NULL_ORIGIN")
    assert await name_of(app) == "Ann"


async def test_origin_null_from_the_same_origin_is_accepted(app: TestApp) -> None:
    await app.sign_up()
    r = await update_name(app, {"origin": "null", "sec-fetch-site": "same-origin"})
    assert r.status_code == 200, r.text
    assert await name_of(app) == "Mallory"


async def test_any_cookie_triggers_the_origin_check(app: TestApp) -> None:
    client = app.new_client()
    r = await client.post(
        app.api("/request-password-reset"), json={"email": "ann@example.com"}, headers={"cookie": "theme=dark"}
    )
    await client.aclose()
    assert_error(r, 403, "MISSING_OR_NULL_ORIGIN")


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.com",
        "http://testserver.evil.com",
        "http://eviltestserver",
        "https://testserver",
        "http://testserver:8080",
        "http://user@testserver",
        "http://testserver\\@evil.com",
        "testserver",
        "file://",
        "*",
    ],
)
async def test_untrusted_origin_is_403_invalid_origin(app: TestApp, origin: str) -> None:
    await app.sign_up()
    r = await update_name(app, {"origin": origin})
    assert_error(r, 403, "INVALID_ORIGIN", "Invalid origin")
    assert await name_of(app) == "Ann"


@pytest.mark.parametrize("origin", [ORIGIN, "http://testserver:80", "HTTP://TESTSERVER"])
async def test_trusted_origin_is_accepted(app: TestApp, origin: str) -> None:
    await app.sign_up()
    r = await update_name(app, {"origin": origin})
    assert r.status_code == 200, r.text
    assert await name_of(app) == "Mallory"


async def test_referer_is_used_when_there_is_no_origin(app: TestApp) -> None:
    await app.sign_up()
    r = await update_name(app, {"referer": "https://evil.com/testserver/page"})
    assert_error(r, 403, "INVALID_ORIGIN")
    assert await name_of(app) == "Ann"
    r = await update_name(app, {"referer": "not a url"})
    assert_error(r, 403, "MISSING_OR_NULL_ORIGIN")
    r = await update_name(app, {"referer": f"{ORIGIN}/settings?tab=profile"})
    assert r.status_code == 200, r.text
    assert await name_of(app) == "Mallory"


async def test_origin_wins_over_a_trusted_referer(app: TestApp) -> None:
    await app.sign_up()
    r = await update_name(app, {"origin": "https://evil.com", "referer": f"{ORIGIN}/settings"})
    assert_error(r, 403, "INVALID_ORIGIN")
    assert await name_of(app) == "Ann"


@pytest.mark.parametrize(
    ("origin", "trusted"),
    [
        ("https://app.example.org", True),
        ("https://a.example.com", True),
        ("http://a.example.com", True),
        ("https://deep.a.example.com", True),
        ("https://example.com", False),
        ("https://evilexample.com", False),
        ("https://a.example.com.evil.net", False),
        ("https://app.example.org:8443", False),
        ("http://app.example.org", False),
        ("https://app.example.org.evil.net", False),
    ],
)
async def test_configured_trusted_origins_and_patterns(make_app, origin: str, trusted: bool) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(trusted_origins=("https://app.example.org/", "*.example.com"))
    await app.sign_up()
    r = await update_name(app, {"origin": origin})
    if trusted:
        assert r.status_code == 200, r.text
        assert await name_of(app) == "Mallory"
    else:
        assert_error(r, 403, "INVALID_ORIGIN")
        assert await name_of(app) == "Ann"


async def test_cookieless_posts_skip_the_origin_check(app: TestApp) -> None:
    """Server-to-server calls carry no cookie and no browser can be tricked into them."""
    await app.sign_up()
    client = app.new_client()
    for headers in ({}, {"origin": "https://evil.com"}, {"origin": "null"}):
        r = await client.post(app.api("/request-password-reset"), json={"email": "ann@example.com"}, headers=headers)
        assert r.status_code == 200, (headers, r.text)
        r = await client.post(app.api("/sign-out"), json={}, headers=headers)
        assert r.status_code == 200, (headers, r.text)
    await client.aclose()
    assert len(app.mails("ann@example.com")) == 1 + 3  # the sign-up verification mail + 3 resets


async def test_a_cookie_post_from_an_untrusted_origin_does_not_sign_out(app: TestApp) -> None:
    await app.sign_up()
    r = await app.client.post(app.api("/sign-out"), json={}, headers={"origin": "https://evil.com"})
    assert_error(r, 403, "INVALID_ORIGIN")
    assert "set-cookie" not in r.headers
    assert (await app.get("/get-session")).json() is not None


# -- login CSRF (sign-in and sign-up without cookies) ---------------------------------------
@pytest.mark.parametrize("form", [False, True])
async def test_cross_site_navigation_sign_in_is_blocked(app: TestApp, form: bool) -> None:
    await app.sign_up()
    client = app.new_client()
    headers = {"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate", "origin": "https://evil.com"}
    payload: dict[str, Any] = {"data": CREDENTIALS} if form else {"json": CREDENTIALS}
    r = await client.post(app.api("/sign-in/email"), headers=headers, **payload)
    await client.aclose()
    assert_error(r, 403, "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED", "Cross-site navigation login blocked")
    assert "set-cookie" not in r.headers and "set-auth-token" not in r.headers
    assert await session_count(app) == 1  # only the sign-up's


async def test_cross_site_navigation_sign_up_is_blocked(app: TestApp) -> None:
    r = await app.client.post(
        app.api("/sign-up/email"), data=SIGN_UP, headers={"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate"}
    )
    assert_error(r, 403, "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED")
    assert await app.auth.store.count_users() == 0


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"sec-fetch-site": "cross-site", "sec-fetch-mode": "cors"}, 403, "MISSING_OR_NULL_ORIGIN"),
        (
            {"sec-fetch-site": "cross-site", "sec-fetch-mode": "cors", "origin": "https://evil.com"},
            403,
            "INVALID_ORIGIN",
        ),
        ({"sec-fetch-site": "same-site", "sec-fetch-mode": "navigate"}, 403, "MISSING_OR_NULL_ORIGIN"),
        ({"sec-fetch-site": "same-site", "origin": ORIGIN}, 200, None),
        ({"sec-fetch-site": "same-origin", "sec-fetch-mode": "navigate"}, 200, None),
        ({"sec-fetch-site": "none", "sec-fetch-mode": "navigate"}, 200, None),
        ({"origin": "https://evil.com"}, 403, "INVALID_ORIGIN"),
        ({"referer": "https://evil.com/login"}, 403, "INVALID_ORIGIN"),
        ({"origin": ORIGIN}, 200, None),
        ({}, 200, None),
    ],
)
async def test_login_csrf_rules_on_cookieless_sign_in(
    app: TestApp, headers: dict[str, str], status: int, code: str | None
) -> None:
    await app.sign_up()
    client = app.new_client()
    r = await client.post(app.api("/sign-in/email"), json=CREDENTIALS, headers=headers)
    await client.aclose()
    if code is None:
        assert r.status_code == status, r.text
        assert await session_count(app) == 2
    else:
        assert_error(r, status, code)
        assert "set-cookie" not in r.headers
        assert await session_count(app) == 1


# -- open redirects -----------------------------------------------------------------------
BAD_URLS = [
    "//evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "https:evil.com",
    "http:/evil.com",
    "https://evil.com",
    "HTTPS://EVIL.COM",
    "https://testserver@evil.com",
    "http://testserver@evil.com",
    "http://testserver:80@evil.com",
    "https://evil.com%2F@testserver",
    "http://evil.com\\@testserver",
    "/%2f%2fevil.com",
    "/%2F%2Fevil.com",
    "/%5cevil.com",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http://testserver.evil.com",
    "http://testserver%2eevil.com",
    "https://testserver/x",
    "http://testserver:8080/x",
    "/dash\nboard",
    "http://testserver/x\r\nSet-Cookie: a=b",
    "/\t/evil.com",
    " /dashboard",
    "/dashboard#frag",
]
GOOD_URLS = ["/dashboard", "/a?b=c", "http://testserver/x", "/", "/welcome/back?tab=1&x=%20y"]


async def verification_token(app: TestApp) -> str:
    url = [m.url for m in app.mails("ann@example.com") if "/verify-email?" in (m.url or "")][-1]
    return parse_qs(urlsplit(url).query)["token"][0]


async def reset_token(app: TestApp) -> str:
    r = await app.post("/request-password-reset", {"email": "ann@example.com"})
    assert r.status_code == 200, r.text
    return urlsplit(app.mails("ann@example.com")[-1].url).path.rsplit("/", 1)[-1]


@pytest.mark.parametrize("url", BAD_URLS)
async def test_open_redirects_are_refused_everywhere(make_app, url: str) -> None:  # type: ignore[no-untyped-def]
    app = await make_app()
    # sign-up: nothing created
    r = await app.post("/sign-up/email", {**SIGN_UP, "callbackURL": url})
    assert_error(r, 403, "INVALID_CALLBACK_URL", "Invalid callbackURL")
    assert await app.auth.store.count_users() == 0
    await app.sign_up()
    mails = len(app.mails("ann@example.com"))
    # sign-in: no session
    client = app.new_client()
    r = await client.post(app.api("/sign-in/email"), json={**CREDENTIALS, "callbackURL": url})
    assert_error(r, 403, "INVALID_CALLBACK_URL")
    assert "set-cookie" not in r.headers and "location" not in r.headers
    r = await client.post(app.api("/sign-in/email"), params={"callbackURL": url}, json=CREDENTIALS)
    assert_error(r, 403, "INVALID_CALLBACK_URL")
    await client.aclose()
    assert await session_count(app) == 1
    # send-verification-email and request-password-reset: no mail
    r = await app.post("/send-verification-email", {"email": "ann@example.com", "callbackURL": url})
    assert_error(r, 403, "INVALID_CALLBACK_URL")
    r = await app.post("/request-password-reset", {"email": "ann@example.com", "redirectTo": url})
    assert_error(r, 403, "INVALID_REDIRECT_URL", "Invalid redirectURL")
    assert len(app.mails("ann@example.com")) == mails
    # GET verify-email with a valid token: not verified, no redirect
    r = await app.get("/verify-email", params={"token": await verification_token(app), "callbackURL": url})
    assert_error(r, 403, "INVALID_CALLBACK_URL")
    assert "location" not in r.headers
    assert (await app.auth.store.find_user_by_email("ann@example.com")).email_verified is False  # type: ignore[union-attr]
    # GET reset-password/:token: no redirect, the token still works
    token = await reset_token(app)
    r = await app.get(f"/reset-password/{token}", params={"callbackURL": url})
    assert_error(r, 403, "INVALID_CALLBACK_URL")
    assert "location" not in r.headers
    r = await app.get(f"/reset-password/{token}", params={"callbackURL": "/reset"})
    assert r.status_code == 302 and r.headers["location"] == f"http://testserver/reset?token={token}"


@pytest.mark.parametrize(
    ("field", "code"),
    [("errorCallbackURL", "INVALID_ERROR_CALLBACK_URL"), ("newUserCallbackURL", "INVALID_NEW_USER_CALLBACK_URL")],
)
async def test_other_redirect_fields_are_checked_too(app: TestApp, field: str, code: str) -> None:
    await app.sign_up()
    client = app.new_client()
    r = await client.post(app.api("/sign-in/email"), json={**CREDENTIALS, field: "https://evil.com"})
    await client.aclose()
    assert_error(r, 403, code)
    assert await session_count(app) == 1


@pytest.mark.parametrize("url", GOOD_URLS)
async def test_safe_redirects_pass(make_app, url: str) -> None:  # type: ignore[no-untyped-def]
    app = await make_app()
    r = await app.post("/sign-up/email", {**SIGN_UP, "callbackURL": url})
    assert r.status_code == 200, r.text
    assert parse_qs(urlsplit(app.mails("ann@example.com")[-1].url).query)["callbackURL"] == [url]
    client = app.new_client()
    r = await client.post(app.api("/sign-in/email"), json={**CREDENTIALS, "callbackURL": url})
    await client.aclose()
    assert r.status_code == 200, r.text
    assert r.json()["redirect"] is True and r.json()["url"] == url
    assert r.headers["location"] == url
    r = await app.post("/send-verification-email", {"email": "ann@example.com", "callbackURL": url})
    assert r.status_code == 200, r.text
    r = await app.post("/request-password-reset", {"email": "ann@example.com", "redirectTo": url})
    assert r.status_code == 200, r.text
    token = urlsplit(app.mails("ann@example.com")[-1].url).path.rsplit("/", 1)[-1]
    r = await app.get(f"/reset-password/{token}", params={"callbackURL": url})
    assert r.status_code == 302
    location = urlsplit(r.headers["location"])
    assert (location.scheme, location.netloc) == ("http", "testserver")
    assert parse_qs(location.query)["token"] == [token]
    r = await app.get("/verify-email", params={"token": await verification_token(app), "callbackURL": url})
    assert r.status_code == 302
    assert r.headers["location"] == url
    assert (await app.auth.store.find_user_by_email("ann@example.com")).email_verified is True  # type: ignore[union-attr]


async def test_callbacks_on_configured_trusted_origins_pass(make_app) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(trusted_origins=("https://app.example.org", "*.example.com"))
    await app.sign_up()
    for url, ok in [
        ("https://app.example.org/welcome", True),
        ("https://shop.example.com/cart", True),
        ("https://example.com/", False),
        ("https://app.example.org.evil.net/", False),
        ("https://app.example.org@evil.net/", False),
    ]:
        client = app.new_client()
        r = await client.post(app.api("/sign-in/email"), json={**CREDENTIALS, "callbackURL": url})
        await client.aclose()
        if ok:
            assert r.status_code == 200 and r.json()["url"] == url, (url, r.text)
        else:
            assert_error(r, 403, "INVALID_CALLBACK_URL")


# -- OriginPolicy, unit -------------------------------------------------------------------
POLICY = OriginPolicy(
    "http://testserver", ("https://app.example.org/", "*.example.com", "https://*.secure.example.net", " ")
)


@pytest.mark.parametrize(
    ("origin", "trusted"),
    [
        ("http://testserver", True),
        ("http://testserver:80", True),
        ("HTTP://TestServer", True),
        ("http://testserver/some/path", True),
        ("https://app.example.org", True),
        ("https://app.example.org/", True),
        ("https://a.example.com", True),
        ("http://a.b.example.com:8080", True),
        ("https://x.secure.example.net", True),
        ("http://x.secure.example.net", False),
        ("https://example.com", False),
        ("https://notexample.com", False),
        ("https://a.example.com.evil.net", False),
        ("https://testserver", False),
        ("http://testserver:8000", False),
        ("http://user@testserver", False),
        ("http://user:pw@testserver", False),
        ("http://testserver\\@evil.com", False),
        ("ftp://testserver", False),
        ("javascript:alert(1)", False),
        ("null", False),
        ("", False),
        (None, False),
        ("*", False),
        ("http://", False),
        ("http://testserver:99999", False),
    ],
)
def test_origin_policy_trusted_origins(origin: str | None, trusted: bool) -> None:
    assert POLICY.is_trusted_origin(origin) is trusted


@pytest.mark.parametrize("url", BAD_URLS + ["", "x" * 10, "/" + "a" * 2048, "/a\x00b", "dashboard", "?next=/x", "#top"])
def test_origin_policy_refuses_unsafe_redirects(url: str) -> None:
    assert POLICY.is_safe_redirect(url) is False


@pytest.mark.parametrize(
    "url",
    GOOD_URLS
    + ["https://app.example.org/welcome", "https://shop.example.com/cart?x=1", "/a/b.c-d_e+f@g", "/x?a=%2F%2Fevil"],
)
def test_origin_policy_accepts_safe_redirects(url: str) -> None:
    assert POLICY.is_safe_redirect(url) is True


def test_origin_policy_refuses_non_strings() -> None:
    for value in (None, 5, ["/x"], b"/x"):
        assert POLICY.is_safe_redirect(value) is False  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://testserver/x?y#z", "http://testserver"),
        ("HTTPS://Example.COM:443/", "https://example.com"),
        ("http://example.com:8080", "http://example.com:8080"),
        ("http://[::1]:8000/x", "http://[::1]:8000"),
        ("http://user@example.com", None),
        ("http://a\\b@example.com", None),
        ("ftp://example.com", None),
        ("/relative", None),
        ("http://example.com:notaport", None),
        ("", None),
    ],
)
def test_origin_of(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin
