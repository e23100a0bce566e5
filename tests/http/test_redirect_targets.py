"""Redirect targets outside ASCII (Hardening II, item 6): a relative target follows spec §6.2's
ASCII pattern or is refused with 403 before anything is written; an absolute trusted URL goes
out percent-encoded (host in IDNA), so no Location header carries text it cannot."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest

from authkeeper.core import redirects
from authkeeper.core.redirects import OriginPolicy, origin_of
from tests.conftest import TestApp
from tests.http._assertions import assert_error

pytestmark = pytest.mark.anyio

CREDENTIALS = {"email": "ann@example.com", "password": "a fine passphrase"}
SIGN_UP = {**CREDENTIALS, "name": "Ann"}
PASSWORD = {"password": CREDENTIALS["password"]}
TRUSTED = ("https://app.example.org", "https://bücher.example")

# Python's ``\w`` (without re.ASCII) accepts every one of these; Better Auth's JavaScript
# pattern accepts none.
NON_ASCII_RELATIVE = ["/一", "/café", "/a?b=ü", "/ｅｖｉｌ", "/x\u00a0y", "/١٢٣", "/a?q=一"]


async def session_count(app: TestApp) -> int:
    user = await app.auth.store.find_user_by_email("ann@example.com")
    assert user is not None
    return len(await app.auth.store.list_sessions(user.id, app.ctx.now()))


def token_of_mail(app: TestApp, marker: str) -> str:
    url: str = [m.url for m in app.mails("ann@example.com") if marker in (m.url or "")][-1]
    if marker == "/reset-password/":
        return urlsplit(url).path.rsplit("/", 1)[-1]
    return parse_qs(urlsplit(url).query)["token"][0]


def no_session_cookie(r: object) -> bool:
    lines = r.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    return not any(line.startswith("better-auth.session_token=") and "Max-Age=0" not in line for line in lines)


# -- relative targets outside ASCII: 403 before anything is written ------------------------
@pytest.mark.parametrize("url", NON_ASCII_RELATIVE)
async def test_non_ascii_relative_callback_on_sign_up_and_sign_in_is_403(app: TestApp, url: str) -> None:
    r = await app.post("/sign-up/email", {**SIGN_UP, "callbackURL": url})
    assert_error(r, 403, "INVALID_CALLBACK_URL", "Invalid callbackURL")
    assert await app.auth.store.count_users() == 0
    await app.sign_up()
    client = app.new_client()
    r = await client.post(app.api("/sign-in/email"), json={**CREDENTIALS, "callbackURL": url})
    assert_error(r, 403, "INVALID_CALLBACK_URL")
    assert no_session_cookie(r) and "set-auth-token" not in r.headers and "location" not in r.headers
    r = await client.post(app.api("/sign-in/email"), params={"callbackURL": url}, json=CREDENTIALS)
    assert_error(r, 403, "INVALID_CALLBACK_URL")
    assert no_session_cookie(r)
    await client.aclose()
    assert await session_count(app) == 1  # only the sign-up's


@pytest.mark.parametrize("url", NON_ASCII_RELATIVE[:3])
async def test_non_ascii_relative_callback_on_mail_requests_is_403(app: TestApp, url: str) -> None:
    await app.sign_up()
    mails = len(app.mails("ann@example.com"))
    r = await app.post("/send-verification-email", {"email": "ann@example.com", "callbackURL": url})
    assert_error(r, 403, "INVALID_CALLBACK_URL")
    r = await app.post("/request-password-reset", {"email": "ann@example.com", "redirectTo": url})
    assert_error(r, 403, "INVALID_REDIRECT_URL")
    assert len(app.mails("ann@example.com")) == mails


async def test_non_ascii_relative_callback_on_verify_email_is_403(app: TestApp) -> None:
    await app.sign_up()
    token = token_of_mail(app, "/verify-email?")
    client = app.new_client()
    r = await client.get(app.api("/verify-email"), params={"token": token, "callbackURL": "/一"})
    assert_error(r, 403, "INVALID_CALLBACK_URL")
    assert "location" not in r.headers and no_session_cookie(r)
    user = await app.auth.store.find_user_by_email("ann@example.com")
    assert user is not None and user.email_verified is False
    # With a bad token too: the error redirect is not built either.
    r = await client.get(app.api("/verify-email"), params={"token": "nope", "callbackURL": "/一"})
    assert_error(r, 403, "INVALID_CALLBACK_URL")
    await client.aclose()


async def test_non_ascii_relative_callback_on_reset_password_link_is_403_and_logs_nothing(
    app: TestApp, caplog: pytest.LogCaptureFixture
) -> None:
    await app.sign_up()
    assert (await app.post("/request-password-reset", {"email": "ann@example.com"})).status_code == 200
    token = token_of_mail(app, "/reset-password/")
    with caplog.at_level(logging.DEBUG):
        r = await app.get(f"/reset-password/{token}", params={"callbackURL": "/一"})
    assert_error(r, 403, "INVALID_CALLBACK_URL")
    assert "location" not in r.headers
    ours = [rec for rec in caplog.records if rec.name.startswith("authkeeper")]
    assert not [rec for rec in ours if token in rec.getMessage() or rec.levelno >= logging.ERROR]
    # The token still works.
    r = await app.get(f"/reset-password/{token}", params={"callbackURL": "/reset"})
    assert r.status_code == 302 and r.headers["location"] == f"http://testserver/reset?token={token}"


async def test_non_ascii_relative_callback_on_delete_user_callback_is_403(make_app) -> None:  # type: ignore[no-untyped-def]
    from authkeeper.core.settings import UserSettings

    app = await make_app(user=UserSettings(delete_confirm_by_email=True))
    await app.sign_up()
    r = await app.post("/delete-user", {**PASSWORD, "callbackURL": "/bye"})
    assert r.status_code == 200, r.text
    token = token_of_mail(app, "/delete-user/callback?")
    r = await app.get("/delete-user/callback", params={"token": token, "callbackURL": "/一"})
    assert_error(r, 403, "INVALID_CALLBACK_URL")
    assert "location" not in r.headers
    assert await app.auth.store.find_user_by_email("ann@example.com") is not None
    r = await app.post("/delete-user", {**PASSWORD, "callbackURL": "/一"})
    assert_error(r, 403, "INVALID_CALLBACK_URL")


# -- absolute trusted URLs outside ASCII: percent-encoded Location -------------------------
ABSOLUTE = "https://app.example.org/café/一?q=ü&x=a b#frag一"
ENCODED = "https://app.example.org/caf%C3%A9/%E4%B8%80?q=%C3%BC&x=a%20b#frag%E4%B8%80"


async def test_sign_in_with_a_non_ascii_trusted_callback_sends_a_percent_encoded_location(make_app) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(trusted_origins=TRUSTED)
    await app.sign_up()
    client = app.new_client()
    r = await client.post(app.api("/sign-in/email"), json={**CREDENTIALS, "callbackURL": ABSOLUTE})
    await client.aclose()
    assert r.status_code == 200, r.text
    assert r.json()["url"] == ABSOLUTE  # the body says what was asked, verbatim
    assert r.headers["location"] == ENCODED


async def test_an_idn_trusted_origin_is_matched_and_sent_in_punycode(make_app) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(trusted_origins=TRUSTED)
    await app.sign_up()
    for url in ("https://bücher.example/ü", "https://xn--bcher-kva.example/ü", "https://BÜCHER.example/ü"):
        client = app.new_client()
        r = await client.post(app.api("/sign-in/email"), json={**CREDENTIALS, "callbackURL": url})
        await client.aclose()
        assert r.status_code == 200, (url, r.text)
        assert r.headers["location"] == "https://xn--bcher-kva.example/%C3%BC", url


async def test_verify_email_and_reset_password_links_percent_encode_a_trusted_callback(make_app) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(trusted_origins=TRUSTED)
    await app.sign_up()
    r = await app.get("/verify-email", params={"token": token_of_mail(app, "/verify-email?"), "callbackURL": ABSOLUTE})
    assert r.status_code == 302 and r.headers["location"] == ENCODED
    r = await app.get("/verify-email", params={"token": "nope", "callbackURL": ABSOLUTE})
    assert r.status_code == 302
    assert (
        r.headers["location"]
        == "https://app.example.org/caf%C3%A9/%E4%B8%80?q=%C3%BC&x=a+b&error=INVALID_TOKEN#frag%E4%B8%80"
    )
    assert (await app.post("/request-password-reset", {"email": "ann@example.com"})).status_code == 200
    token = token_of_mail(app, "/reset-password/")
    r = await app.get(f"/reset-password/{token}", params={"callbackURL": "https://app.example.org/一"})
    assert r.status_code == 302 and r.headers["location"] == f"https://app.example.org/%E4%B8%80?token={token}"
    r = await app.get("/reset-password/nope", params={"callbackURL": "https://app.example.org/一"})
    assert r.status_code == 302 and r.headers["location"] == "https://app.example.org/%E4%B8%80?error=INVALID_TOKEN"


async def test_delete_user_callback_percent_encodes_a_trusted_callback(make_app) -> None:  # type: ignore[no-untyped-def]
    from authkeeper.core.settings import UserSettings

    app = await make_app(trusted_origins=TRUSTED, user=UserSettings(delete_confirm_by_email=True))
    await app.sign_up()
    assert (
        await app.post("/delete-user", {**PASSWORD, "callbackURL": "https://app.example.org/adiós"})
    ).status_code == 200
    token = token_of_mail(app, "/delete-user/callback?")
    r = await app.get("/delete-user/callback", params={"token": token, "callbackURL": "https://app.example.org/adiós"})
    assert r.status_code == 302 and r.headers["location"] == "https://app.example.org/adi%C3%B3s"
    assert await app.auth.store.find_user_by_email("ann@example.com") is None


# -- unit -----------------------------------------------------------------------------------
POLICY = OriginPolicy("http://testserver", TRUSTED)


@pytest.mark.parametrize("url", NON_ASCII_RELATIVE + ["/\u212a", "/ſ", "/a\u0301"])
def test_policy_refuses_non_ascii_relative_targets(url: str) -> None:
    assert POLICY.is_safe_redirect(url) is False


@pytest.mark.parametrize(
    "url", ["https://app.example.org/一", "https://bücher.example/", "https://xn--bcher-kva.example/x"]
)
def test_policy_accepts_non_ascii_absolute_trusted_targets(url: str) -> None:
    assert POLICY.is_safe_redirect(url) is True


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Bücher.example/x", "https://xn--bcher-kva.example"),
        ("https://xn--bcher-kva.example", "https://xn--bcher-kva.example"),
        ("https://" + "ü" * 70 + ".example/", None),  # a label IDNA cannot encode
    ],
)
def test_origin_of_puts_hosts_in_idna(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("/dashboard?tab=1&x=%20y", "/dashboard?tab=1&x=%20y"),
        ("http://testserver/x", "http://testserver/x"),
        (ABSOLUTE, ENCODED),
        ("https://bücher.example:8443/ü?ä#ö", "https://xn--bcher-kva.example:8443/%C3%BC?%C3%A4#%C3%B6"),
        ('https://app.example.org/a"<>\\^`{|}', "https://app.example.org/a%22%3C%3E%5C%5E%60%7B%7C%7D"),
        ("https://app.example.org/%E4%B8%80", "https://app.example.org/%E4%B8%80"),  # no double encoding
    ],
)
def test_location_of(url: str, location: str) -> None:
    assert redirects.location_of(url) == location
    location.encode("ascii")
