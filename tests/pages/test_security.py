"""The pages' guards, in-process: CSRF and origin on every POST, sign-in redirects with a
checked ``next``, escaping, headers, error pages, rate limits and lockout in plain words."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from authkeeper.core.settings import (
    LockoutSettings,
    RateLimitRule,
    RateLimitSettings,
)
from authkeeper.plugins.admin import AdminSettings
from tests.conftest import ORIGIN
from tests.pages.helpers import (
    PASSWORD,
    Visitor,
    csrf_token,
    form_alert,
    make_user,
    notice,
    text,
    title,
)

pytestmark = pytest.mark.anyio


# -- CSRF and origin ----------------------------------------------------------------------
async def test_post_without_or_with_a_wrong_csrf_token_gets_the_403_page(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    await make_user(app, "ann@example.com")
    v = Visitor(app)
    good = await v.token("/sign-in")
    form = {"email": "ann@example.com", "password": PASSWORD}
    for data in (form, {**form, "csrf_token": ""}, {**form, "csrf_token": good[:-2] + "xx"}):
        r = await v.http.post("/sign-in", data=data, headers={"origin": ORIGIN})
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith("text/html")
        assert "Not allowed" in title(r.text) and "not sent from this site" in r.text
        assert "set-cookie" not in r.headers or "session_token=" not in r.headers["set-cookie"]
    # The right token signs in.
    r = await v.http.post("/sign-in", data={**form, "csrf_token": good}, headers={"origin": ORIGIN})
    assert r.status_code == 303 and r.headers["location"] == "/account"
    await v.close()


async def test_a_token_is_bound_to_its_visitor_and_session(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    await make_user(app, "ann@example.com")
    mallory, ann = Visitor(app), Visitor(app)
    stolen = await mallory.token("/sign-in")
    await ann.get("/sign-in")  # ann has her own CSRF cookie
    r = await ann.http.post(
        "/sign-in",
        data={"csrf_token": stolen, "email": "ann@example.com", "password": PASSWORD},
        headers={"origin": ORIGIN},
    )
    assert r.status_code == 403
    # A token from before sign-in does not work after it (no login CSRF, no fixation).
    before = await ann.token("/sign-in")
    assert (await ann.sign_in()).status_code == 303
    r = await ann.http.post(
        "/account/profile", data={"csrf_token": before, "name": "Changed"}, headers={"origin": ORIGIN}
    )
    assert r.status_code == 403
    r = await ann.submit("/account", "/account/profile", {"name": "Changed", "image": ""})
    assert r.status_code == 303
    assert (await ann.session())["user"]["name"] == "Changed"
    await mallory.close()
    await ann.close()


async def test_a_post_from_another_origin_is_refused_even_with_a_token(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    await make_user(app, "ann@example.com")
    v = Visitor(app)
    token = await v.token("/sign-in")
    data = {"csrf_token": token, "email": "ann@example.com", "password": PASSWORD}
    for headers in ({"origin": "https://evil.example"}, {}, {"origin": "null"}, {"referer": "https://evil.example/x"}):
        r = await v.http.post("/sign-in", data=data, headers=headers)
        assert r.status_code == 403, headers
        assert "another site" in r.text or "not sent from this site" in r.text
    # Origin null from the same site (a no-referrer page's form) is the site itself.
    r = await v.http.post("/sign-in", data=data, headers={"origin": "null", "sec-fetch-site": "same-origin"})
    assert r.status_code == 303
    await v.close()


async def test_csrf_cookie_is_httponly_samesite_lax(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    v = Visitor(app)
    r = await v.get("/sign-in")
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("better-auth.csrf="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert re.match(r"better-auth\.csrf=[A-Za-z0-9]{32};", cookie)
    # Set once: the next page keeps it.
    r = await v.get("/sign-up")
    assert not any(c.startswith("better-auth.csrf=") for c in r.headers.get_list("set-cookie"))
    await v.close()


# -- sign-in redirects ---------------------------------------------------------------------
async def test_pages_that_need_a_session_send_to_sign_in_and_back(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    await make_user(app, "ann@example.com")
    v = Visitor(app)
    for path, quoted in (
        ("/account", "%2Faccount"),
        ("/account/security", "%2Faccount%2Fsecurity"),
        ("/admin?q=bob&role=user", "%2Fadmin%3Fq%3Dbob%26role%3Duser"),
    ):
        r = await v.get(path)
        assert r.status_code == 303 and r.headers["location"] == f"/sign-in?next={quoted}", path
    r = await v.get("/sign-in?next=%2Faccount%2Fsecurity")
    assert 'name="next" value="/account/security"' in r.text
    r = await v.sign_in(next="/account/security")
    assert r.status_code == 303 and r.headers["location"] == "/account/security"
    assert (await v.get("/")).headers["location"] == "/account"
    # Signed in, the sign-in page sends on.
    assert (await v.get("/sign-in?next=%2Faccount%2Fsessions")).headers["location"] == "/account/sessions"
    await v.close()


async def test_a_query_with_commas_and_colons_survives_the_detour(make_app: Callable[..., Any]) -> None:
    """The detour's ``next`` is re-encoded so the redirect validator (Better Auth's narrow
    query charset) accepts it: the visitor lands back on the same search."""
    app = await make_app()
    await make_user(app, "ann@example.com")
    v = Visitor(app)
    r = await v.get("/admin?q=a,b:c")
    assert r.status_code == 303
    nxt = parse_qs(urlsplit(r.headers["location"]).query)["next"][0]
    assert nxt == "/admin?q=a%2Cb%3Ac"
    r = await v.sign_in(next=nxt)
    assert r.status_code == 303 and r.headers["location"] == nxt
    await v.close()


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "///evil.example",
        "javascript:alert(1)",
        "http://testserver@evil.example/",
        "/%2f%2fevil.example",
        " /account",
        "https:evil.example",
    ],
)
async def test_next_never_leaves_the_site(make_app: Callable[..., Any], target: str) -> None:
    app = await make_app()
    await make_user(app, "ann@example.com")
    v = Visitor(app)
    page = await v.get("/sign-in", params={"next": target})
    assert 'name="next"' not in page.text
    r = await v.sign_in(next=target)
    assert r.status_code == 303 and r.headers["location"] == "/account", target
    assert (await v.get("/sign-in", params={"next": target})).headers["location"] == "/account"
    await v.close()


async def test_next_may_name_a_trusted_origin(make_app: Callable[..., Any]) -> None:
    app = await make_app(trusted_origins=("https://app.example.com",))
    await make_user(app, "ann@example.com")
    v = Visitor(app)
    r = await v.sign_in(next="https://app.example.com/welcome")
    assert r.headers["location"] == "https://app.example.com/welcome"
    # The CSP lets forms redirect there, and nowhere else.
    csp = (await v.get("/account")).headers["content-security-policy"]
    assert "form-action 'self' https://app.example.com" in csp
    await v.close()


# -- escaping and headers ------------------------------------------------------------------
async def test_user_data_is_escaped_everywhere(make_app: Callable[..., Any]) -> None:
    app = await make_app(admin=AdminSettings(admin_emails=("root@example.com",)))
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    v = Visitor(app)
    r = await v.submit("/sign-up", "/sign-up", {"name": evil, "email": "ann@example.com", "password": PASSWORD})
    assert r.status_code == 303
    for path in ("/account", "/account/security"):
        body = (await v.get(path)).text
        assert "<script>alert" not in body and "<img src=x" not in body
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body
    await make_user(app, "root@example.com", name="Root", emailVerified=True)
    admin = Visitor(app)
    await admin.sign_in("root@example.com")
    body = (await admin.get("/admin")).text
    assert "&lt;script&gt;" in body and "<script>" not in body
    # A query value echoed into the search box stays a value.
    body = (await admin.get("/admin", params={"q": '"><script>alert(2)</script>'})).text
    assert "<script>alert(2)" not in body and "&#34;&gt;&lt;script&gt;alert(2)" in body
    await v.close()
    await admin.close()


async def test_pages_send_security_headers_and_no_store(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    v = Visitor(app)
    r = await v.get("/sign-in")
    h = r.headers
    assert h["content-type"] == "text/html; charset=utf-8"
    assert h["cache-control"] == "no-store" and h["x-frame-options"] == "DENY"
    assert h["x-content-type-options"] == "nosniff" and h["referrer-policy"] == "same-origin"
    csp = h["content-security-policy"]
    assert "default-src 'none'" in csp and "style-src 'self'" in csp and "script-src" not in csp
    assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    assert '<html lang="en">' in r.text and title(r.text) == "Sign in · authkeeper"
    css = await v.get(re.search(r'href="(/static/authkeeper\.css\?v=\w+)"', r.text).group(1))  # type: ignore[union-attr]
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "--accent" in css.text and ":focus-visible" in css.text
    await v.close()


async def test_error_pages_are_styled_html(make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    app = await make_app()
    await make_user(app, "ann@example.com")
    v = Visitor(app)
    r = await v.get("/no/such/page")
    assert r.status_code == 404 and title(r.text).startswith("Page not found")
    assert 'href="/static/authkeeper.css' in r.text
    r = await v.http.delete("/sign-in")
    assert r.status_code == 405 and "text/html" in r.headers["content-type"]
    # The API keeps its JSON errors; health checks keep answering.
    api = await v.get(app.api("/no-such-endpoint"))
    assert api.status_code == 404 and api.json()["code"] == "NOT_FOUND"
    assert (await v.get("/healthz")).json() == {"status": "ok"}
    assert (await v.get("/__mailbox", params={"to": "x@example.com"})).json() == []
    # An unexpected failure is a 500 page saying so in plain words, without details.
    await v.sign_in()
    from authkeeper.flows import sessions

    async def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("database exploded: secret detail")

    monkeypatch.setattr(sessions, "list_sessions", broken)
    r = await v.get("/account/sessions")
    assert r.status_code == 500 and "Something went wrong" in r.text and "our side" in r.text
    assert "exploded" not in r.text and "Traceback" not in r.text
    await v.close()


async def test_nul_bytes_and_oversized_forms_are_refused(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    v = Visitor(app)
    token = await v.token("/sign-in")
    r = await v.http.post(
        "/sign-in",
        content=f"csrf_token={token}&email=a%00b&password=x",
        headers={"origin": ORIGIN, "content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400 and "text/html" in r.headers["content-type"]
    r = await v.http.post(
        "/sign-in",
        content=b"csrf_token=x&email=" + b"a" * 70000,
        headers={"origin": ORIGIN, "content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413
    r = await v.http.post("/sign-in", json={"email": "x"}, headers={"origin": ORIGIN})
    assert r.status_code == 415
    await v.close()


# -- rate limits and lockout ---------------------------------------------------------------
async def test_rate_limit_page_says_when_to_retry(make_app: Callable[..., Any]) -> None:
    app = await make_app(rate_limit=RateLimitSettings(rules={"/sign-in/*": RateLimitRule(window=600, max=2)}))
    await make_user(app, "ann@example.com")
    v = Visitor(app)
    for _ in range(2):
        assert (await v.sign_in(password="wrong password")).status_code == 400
    r = await v.sign_in()
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 500
    # The form again (not a bare error page), with the email kept.
    assert title(r.text).startswith("Sign in") and 'value="ann@example.com"' in r.text
    assert form_alert(r.text, "sign-in") == "Too many attempts from your network. Try again in 10 minutes."
    # The page POST and the API share one bucket: the API is limited too.
    api = await v.http.post(
        app.api("/sign-in/email"), json={"email": "ann@example.com", "password": PASSWORD}, headers={"origin": ORIGIN}
    )
    assert api.status_code == 429 and api.json()["code"] == "TOO_MANY_REQUESTS"
    await v.close()


async def test_api_requests_count_against_the_page_bucket(make_app: Callable[..., Any]) -> None:
    app = await make_app(
        rate_limit=RateLimitSettings(rules={"/request-password-reset": RateLimitRule(window=60, max=1)})
    )
    v = Visitor(app)
    r = await v.http.post(
        app.api("/request-password-reset"), json={"email": "x@example.com"}, headers={"origin": ORIGIN}
    )
    assert r.status_code == 200
    r = await v.submit("/forgot-password", "/forgot-password", {"email": "x@example.com"})
    assert r.status_code == 429 and "Try again in" in text(r.text)
    await v.close()


async def test_lockout_says_when_to_retry_in_plain_words(make_app: Callable[..., Any]) -> None:
    app = await make_app(lockout=LockoutSettings(max_failures=2, window=900))
    await make_user(app, "ann@example.com")
    v = Visitor(app)
    for _ in range(2):
        r = await v.sign_in(password="wrong password")
        assert form_alert(r.text, "sign-in") == "That email and password do not match. Check them and try again."
    r = await v.sign_in()
    assert r.status_code == 429
    assert (
        form_alert(r.text, "sign-in") == "Too many failed sign-in attempts for this account. Try again in 15 minutes."
    )
    assert 'value="ann@example.com"' in r.text
    await v.close()


async def test_session_interoperates_with_the_api(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    v = Visitor(app)
    await v.sign_up()
    session = await v.session()
    assert session["user"]["email"] == "ann@example.com"
    # A session made by the API opens the pages.
    api_client = app.new_client()
    r = await api_client.post(
        app.api("/sign-in/email"), json={"email": "ann@example.com", "password": PASSWORD}, headers={"origin": ORIGIN}
    )
    assert r.status_code == 200
    page = await api_client.get("/account")
    assert page.status_code == 200 and "ann@example.com" in page.text
    # Signing out on the page ends the session for the API.
    r = await v.submit("/account", "/sign-out", {})
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?notice=signed-out"
    assert await v.session() is None
    assert notice((await v.get(r.headers["location"])).text) == "You are signed out."
    await api_client.aclose()
    await v.close()


async def test_csrf_token_is_in_every_form(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    v = Visitor(app)
    await v.sign_up()
    for path in ("/account", "/account/security", "/account/sessions", "/sign-in", "/sign-up", "/forgot-password"):
        body = (await v.follow(path)).text
        forms = re.findall(r'<form method="post".*?</form>', body, re.DOTALL)
        for form in forms:
            assert csrf_token(form), (path, form)
    await v.close()


async def test_pages_mount_in_a_host_app_under_a_prefix(make_app: Callable[..., Any]) -> None:
    """A library user mounts the pages in their own Starlette app: every link, form,
    redirect and mailed callback carries the mount point."""
    import httpx
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from authkeeper.pages import PagesApp

    app = await make_app()
    host = Starlette(routes=[Mount("/api/auth", app=app.auth.api), Mount("/auth", app=PagesApp(app.auth))])
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=host), base_url=ORIGIN)
    r = await client.get("/auth/account")
    assert r.status_code == 303 and r.headers["location"] == "/auth/sign-in?next=%2Fauth%2Faccount"
    page = (await client.get("/auth/sign-up")).text
    assert 'action="/auth/sign-up"' in page and 'href="/auth/static/authkeeper.css?v=' in page
    assert (await client.get("/auth/static/authkeeper.css")).status_code == 200
    r = await client.post(
        "/auth/sign-up",
        data={"csrf_token": csrf_token(page), "name": "Ann", "email": "ann@example.com", "password": PASSWORD},
        headers={"origin": ORIGIN},
    )
    assert r.status_code == 303 and r.headers["location"] == "/auth/account?notice=signed-up-verify"
    assert "/auth/verify-email" in app.mails("ann@example.com")[-1].url
    assert (await client.get("/api/auth/get-session")).json()["user"]["email"] == "ann@example.com"
    assert 'action="/auth/sign-out"' in (await client.get("/auth/account")).text
    await client.aclose()


async def test_pages_can_be_turned_off(make_app: Callable[..., Any]) -> None:
    from authkeeper.core.settings import PagesSettings

    app = await make_app(pages=PagesSettings(enabled=False))
    r = await app.client.get("/sign-in")
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    assert (await app.client.get("/")).json()["name"] == "authkeeper"
    assert (await app.client.get("/healthz")).status_code == 200
