"""Rate limits per client IP and path (spec §6.4, §6.5) and account lockout per email
(``flows/sign_in.py``)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

import httpx
import pytest

from authkeeper.config import load_settings
from authkeeper.core.settings import LockoutSettings, RateLimitRule, RateLimitSettings
from authkeeper.server import create_server_app
from authkeeper.web import client_ip as cip
from authkeeper.web import ratelimit
from tests.conftest import ORIGIN, SECRET, TestApp
from tests.http._assertions import assert_error

pytestmark = pytest.mark.anyio

CREDENTIALS: dict[str, Any] = {"email": "ann@example.com", "password": "a fine passphrase"}
WRONG = {"email": "ann@example.com", "password": "not the passphrase"}


class FakeMonotonic:
    """Stands in for the ``time`` module of the in-memory limiter."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeMonotonic:
    fake = FakeMonotonic()
    monkeypatch.setattr(ratelimit, "time", fake)
    return fake


async def limited_app(make_app, **overrides: Any) -> TestApp:  # type: ignore[no-untyped-def]
    return await make_app(rate_limit=overrides.pop("rate_limit", RateLimitSettings()), **overrides)


def client_from(app: TestApp, host: str) -> httpx.AsyncClient:
    """A client whose socket address is ``host`` (ASGITransport's default is 127.0.0.1)."""
    transport = httpx.ASGITransport(app=create_server_app(app.auth), client=(host, 4321))
    return httpx.AsyncClient(transport=transport, base_url=ORIGIN, headers={"origin": ORIGIN})


def assert_rate_limited(r: httpx.Response, window: int) -> int:
    body = assert_error(r, 429, "TOO_MANY_REQUESTS", "Too many requests. Please try again later.")
    wait = int(r.headers["x-retry-after"])
    assert 1 <= wait <= window
    assert r.headers["retry-after"] == r.headers["x-retry-after"]
    assert body["retryAfter"] == wait
    return wait


async def sign_in_from(
    client: httpx.AsyncClient, app: TestApp, headers: dict[str, str] | None = None, **body: Any
) -> httpx.Response:
    client.cookies.clear()
    return await client.post(app.api("/sign-in/email"), json={**WRONG, **body}, headers=headers or {})


# -- rate limits --------------------------------------------------------------------------
async def test_fourth_sign_in_within_ten_seconds_is_429(make_app, fake_time: FakeMonotonic) -> None:  # type: ignore[no-untyped-def]
    app = await limited_app(make_app)
    await app.sign_up()
    client = app.new_client()
    for _ in range(3):
        assert (await sign_in_from(client, app)).status_code == 401
    fake_time.now += 4
    r = await sign_in_from(client, app, **CREDENTIALS)
    assert assert_rate_limited(r, 10) == 6
    assert "set-cookie" not in r.headers
    r = await client.post(app.api("/sign-in/email"), content=b"{not json", headers={"content-type": "application/json"})
    assert_rate_limited(r, 10)  # counted before the body is even read
    fake_time.now += 6
    r = await sign_in_from(client, app, **CREDENTIALS)
    assert r.status_code == 200, r.text
    await client.aclose()


async def test_other_paths_have_their_own_buckets(make_app, fake_time: FakeMonotonic) -> None:  # type: ignore[no-untyped-def]
    app = await limited_app(make_app)
    client = app.new_client()
    for _ in range(3):
        await sign_in_from(client, app)
    assert_rate_limited(await sign_in_from(client, app), 10)
    r = await client.post(app.api("/sign-in/social"), json={"provider": "github"})
    assert_error(r, 404, "PROVIDER_NOT_FOUND")  # /sign-in/* is a pattern, the bucket is per path
    for i in range(3):
        r = await client.post(
            app.api("/sign-up/email"), json={"email": f"u{i}@example.com", "password": "a fine passphrase", "name": "U"}
        )
        assert r.status_code == 200, r.text
        client.cookies.clear()
    r = await client.post(
        app.api("/sign-up/email"), json={"email": "u9@example.com", "password": "a fine passphrase", "name": "U"}
    )
    assert_rate_limited(r, 10)
    assert await app.auth.store.count_users() == 3
    assert (await client.get(app.api("/ok"))).status_code == 200
    assert (await client.get(app.api("/get-session"))).status_code == 200
    await client.aclose()


async def test_mail_endpoints_allow_three_a_minute(make_app, fake_time: FakeMonotonic) -> None:  # type: ignore[no-untyped-def]
    app = await limited_app(make_app)
    client = app.new_client()
    for _ in range(3):
        r = await client.post(app.api("/request-password-reset"), json={"email": "ann@example.com"})
        assert r.status_code == 200, r.text
    fake_time.now += 30
    r = await client.post(app.api("/request-password-reset"), json={"email": "ann@example.com"})
    assert assert_rate_limited(r, 60) == 30
    await client.aclose()


async def test_default_rule_is_100_per_10_seconds(make_app, fake_time: FakeMonotonic) -> None:  # type: ignore[no-untyped-def]
    app = await limited_app(make_app)
    for _ in range(100):
        assert (await app.get("/ok")).status_code == 200
    assert_rate_limited(await app.get("/ok"), 10)
    fake_time.now += 10
    assert (await app.get("/ok")).status_code == 200


async def test_unknown_paths_are_not_counted(make_app, fake_time: FakeMonotonic) -> None:  # type: ignore[no-untyped-def]
    app = await limited_app(make_app)
    client = app.new_client()
    for path in ("//sign-in/email", "/sign-in/email/", "/SIGN-IN/email"):
        r = await client.post(app.api(path), json=WRONG)
        assert_error(r, 404, "NOT_FOUND")
    for _ in range(3):
        assert (await sign_in_from(client, app)).status_code == 401
    await client.aclose()


async def test_a_custom_rule_applies(make_app, fake_time: FakeMonotonic) -> None:  # type: ignore[no-untyped-def]
    app = await limited_app(make_app, rate_limit=RateLimitSettings(rules={"/ok": RateLimitRule(window=30, max=2)}))
    assert (await app.get("/ok")).status_code == 200
    assert (await app.get("/ok")).status_code == 200
    assert assert_rate_limited(await app.get("/ok"), 30) == 30
    assert (await app.get("/get-session")).status_code == 200


async def test_a_custom_wildcard_rule_applies(make_app, fake_time: FakeMonotonic) -> None:  # type: ignore[no-untyped-def]
    rules = {**RateLimitSettings().rules, "/sign-in/*": RateLimitRule(window=60, max=1)}
    app = await limited_app(make_app, rate_limit=RateLimitSettings(rules=rules))
    client = app.new_client()
    assert (await sign_in_from(client, app)).status_code == 401
    assert_rate_limited(await sign_in_from(client, app), 60)
    await client.aclose()


async def test_a_custom_rule_from_the_environment_keeps_the_built_in_rules(
    make_app, tmp_path, fake_time: FakeMonotonic
) -> None:  # type: ignore[no-untyped-def]
    """The README's own example loosens sign-in to 5 per 10 s; sign-up, change-password and the
    mail endpoints must keep their strict defaults rather than fall back to 100 per 10 s."""
    settings = load_settings(
        environ={
            "AUTHKEEPER_SECRET": SECRET,
            "AUTHKEEPER_RATE_LIMIT": '{"rules":{"/sign-in/*":{"window":10,"max":5}}}',
        },
        secret_file=tmp_path / "secret",
    )
    assert settings.rate_limit.rules["/sign-in/*"] == RateLimitRule(window=10, max=5)
    app = await limited_app(make_app, rate_limit=settings.rate_limit)
    client = app.new_client()
    for _ in range(5):
        assert (await sign_in_from(client, app)).status_code == 401
    assert_rate_limited(await sign_in_from(client, app), 10)
    for _ in range(3):
        r = await client.post(app.api("/request-password-reset"), json={"email": "ann@example.com"})
        assert r.status_code == 200, r.text
    r = await client.post(app.api("/request-password-reset"), json={"email": "ann@example.com"})
    await client.aclose()
    assert_rate_limited(r, 60)


async def test_rate_limiting_can_be_turned_off(make_app) -> None:  # type: ignore[no-untyped-def]
    app = await make_app()  # conftest turns it off
    client = app.new_client()
    for i in range(10):
        assert (await sign_in_from(client, app, email=f"user{i}@example.com")).status_code == 401
    await client.aclose()


# -- client IP ----------------------------------------------------------------------------
async def test_x_forwarded_for_is_ignored_without_trusted_proxies(make_app, fake_time: FakeMonotonic) -> None:  # type: ignore[no-untyped-def]
    app = await limited_app(make_app)
    await app.sign_up()
    client = app.new_client()
    for i in range(3):
        assert (await sign_in_from(client, app, {"x-forwarded-for": f"203.0.113.{i}"})).status_code == 401
    r = await sign_in_from(client, app, {"x-forwarded-for": "198.51.100.77"})
    assert_rate_limited(r, 10)
    await client.aclose()
    ann = await app.auth.store.find_user_by_email("ann@example.com")
    assert ann is not None
    sessions = await app.auth.store.list_sessions(ann.id, app.ctx.now())
    assert [s.ip_address for s in sessions] == ["127.0.0.1"]


async def test_x_forwarded_for_is_honoured_from_a_trusted_proxy(make_app, fake_time: FakeMonotonic) -> None:  # type: ignore[no-untyped-def]
    app = await limited_app(make_app, trusted_proxies=("127.0.0.1/32",))
    client = app.new_client()  # its socket is 127.0.0.1: the proxy
    for _ in range(3):
        assert (await sign_in_from(client, app, {"x-forwarded-for": "203.0.113.1"})).status_code == 401
    assert_rate_limited(await sign_in_from(client, app, {"x-forwarded-for": "203.0.113.1"}), 10)
    # The client cannot escape by prepending its own hops: the proxy appended the real address.
    assert_rate_limited(await sign_in_from(client, app, {"x-forwarded-for": "6.6.6.6, 203.0.113.1"}), 10)
    assert_rate_limited(await sign_in_from(client, app, {"x-forwarded-for": "203.0.113.1, 127.0.0.1"}), 10)
    # Another client behind the same proxy has its own bucket.
    assert (await sign_in_from(client, app, {"x-forwarded-for": "203.0.113.2"})).status_code == 401
    await client.aclose()


async def test_x_forwarded_for_from_a_socket_that_is_not_a_proxy_is_ignored(make_app, fake_time: FakeMonotonic) -> None:  # type: ignore[no-untyped-def]
    app = await limited_app(make_app, trusted_proxies=("10.0.0.0/8",))
    client = client_from(app, "198.51.100.9")
    for i in range(3):
        assert (await sign_in_from(client, app, {"x-forwarded-for": f"203.0.113.{i}"})).status_code == 401
    assert_rate_limited(await sign_in_from(client, app, {"x-forwarded-for": "203.0.113.99"}), 10)
    await client.aclose()


async def test_ipv6_addresses_in_one_64_share_a_bucket(make_app, fake_time: FakeMonotonic) -> None:  # type: ignore[no-untyped-def]
    app = await limited_app(make_app)
    same_subnet = ["2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:DB8:1:2:0:0:0:3"]
    for host in same_subnet:
        client = client_from(app, host)
        assert (await sign_in_from(client, app)).status_code == 401, host
        await client.aclose()
    client = client_from(app, "2001:db8:1:2::abcd")
    assert_rate_limited(await sign_in_from(client, app), 10)
    await client.aclose()
    client = client_from(app, "2001:db8:1:3::1")  # the next /64
    assert (await sign_in_from(client, app)).status_code == 401
    await client.aclose()


async def test_ipv4_mapped_ipv6_shares_the_ipv4_bucket(make_app, fake_time: FakeMonotonic) -> None:  # type: ignore[no-untyped-def]
    app = await limited_app(make_app)
    for host in ("192.0.2.5", "::ffff:192.0.2.5", "::FFFF:c000:0205"):
        client = client_from(app, host)
        assert (await sign_in_from(client, app)).status_code == 401, host
        await client.aclose()
    client = client_from(app, "192.0.2.5")
    assert_rate_limited(await sign_in_from(client, app), 10)
    await client.aclose()


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("192.0.2.1", "192.0.2.1"),
        (" 192.0.2.1 ", "192.0.2.1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("2001:db8::1", "2001:db8::/64"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::/64"),
        ("[2001:db8::1]", "2001:db8::/64"),
        ("2001:db8::ffff:1:2:3", "2001:db8::/64"),
        ("2001:db8:0:1::1", "2001:db8:0:1::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("192.0.2.1:443", None),
        ("not-an-ip", None),
        ("", None),
    ],
)
def test_normalise_ip(raw: str, normal: str | None) -> None:
    assert cip.normalise_ip(raw) == normal


PROXIES = cip.parse_networks(("127.0.0.1/32", "10.0.0.0/8", " ", "fd00::/8"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "expected"),
    [
        ("192.0.2.1", "203.0.113.5", (), "192.0.2.1"),
        ("127.0.0.1", "203.0.113.5", (), "127.0.0.1"),
        ("127.0.0.1", "203.0.113.5", PROXIES, "203.0.113.5"),
        ("127.0.0.1", "6.6.6.6, 203.0.113.5", PROXIES, "203.0.113.5"),
        ("127.0.0.1", "203.0.113.5, 10.1.2.3", PROXIES, "203.0.113.5"),
        ("127.0.0.1", "10.1.2.3, 10.4.5.6", PROXIES, "10.1.2.3"),
        ("127.0.0.1", None, PROXIES, "127.0.0.1"),
        ("127.0.0.1", "", PROXIES, "127.0.0.1"),
        ("127.0.0.1", " , ", PROXIES, "127.0.0.1"),
        ("127.0.0.1", "garbage", PROXIES, "127.0.0.1"),  # the walk stops at the last trusted hop
        ("127.0.0.1", "2001:db8::1", PROXIES, "2001:db8::/64"),
        ("::ffff:127.0.0.1", "203.0.113.5", PROXIES, "203.0.113.5"),
        ("fd00::1", "203.0.113.5", PROXIES, "203.0.113.5"),
        ("198.51.100.1", "203.0.113.5", PROXIES, "198.51.100.1"),
        ("2001:db8::9", "203.0.113.5", PROXIES, "2001:db8::/64"),
        (None, "203.0.113.5", PROXIES, "unknown"),
    ],
)
def test_client_ip(peer: str | None, forwarded: str | None, proxies: tuple[Any, ...], expected: str) -> None:
    assert cip.client_ip(peer, forwarded, proxies) == expected


# -- account lockout ----------------------------------------------------------------------
async def lockout_app(make_app, db_url: str, **lockout: Any) -> TestApp:  # type: ignore[no-untyped-def]
    app = await make_app(db_url=db_url, lockout=LockoutSettings(**lockout))
    return app


async def session_count(app: TestApp) -> int:
    user = await app.auth.store.find_user_by_email("ann@example.com")
    assert user is not None
    return len(await app.auth.store.list_sessions(user.id, app.ctx.now()))


def assert_locked(r: httpx.Response, window: int = 900) -> int:
    body = assert_error(r, 429, "ACCOUNT_LOCKED", "Too many failed sign-in attempts. Please try again later.")
    wait = int(r.headers["retry-after"])
    assert 1 <= wait <= window
    assert r.headers["x-retry-after"] == r.headers["retry-after"]
    assert body["retryAfter"] == wait
    assert "set-cookie" not in r.headers and "set-auth-token" not in r.headers
    return wait


async def test_five_wrong_passwords_lock_the_sixth_attempt_even_with_the_right_password(db_url: str, make_app) -> None:  # type: ignore[no-untyped-def]
    app = await lockout_app(make_app, db_url)
    await app.sign_up()
    client = app.new_client()
    for _ in range(5):
        assert_error(await sign_in_from(client, app), 401, "INVALID_EMAIL_OR_PASSWORD")
    assert_locked(await sign_in_from(client, app, **CREDENTIALS))
    assert_locked(await sign_in_from(client, app))
    await client.aclose()
    assert await session_count(app) == 1  # the sign-up's only


async def test_an_unknown_email_locks_the_same_way(db_url: str, make_app) -> None:  # type: ignore[no-untyped-def]
    app = await lockout_app(make_app, db_url)
    client = app.new_client()
    for _ in range(5):
        assert_error(await sign_in_from(client, app, email="nobody@example.com"), 401, "INVALID_EMAIL_OR_PASSWORD")
    assert_locked(await sign_in_from(client, app, email="nobody@example.com"))
    await client.aclose()


async def test_case_and_spaces_do_not_escape_the_lock(db_url: str, make_app) -> None:  # type: ignore[no-untyped-def]
    app = await lockout_app(make_app, db_url)
    await app.sign_up()
    client = app.new_client()
    for email in ("ANN@example.com", " ann@example.com", "Ann@Example.Com ", "ann@EXAMPLE.COM", "\tann@example.com"):
        assert_error(await sign_in_from(client, app, email=email), 401, "INVALID_EMAIL_OR_PASSWORD")
    assert_locked(await sign_in_from(client, app, **CREDENTIALS))
    await client.aclose()


async def test_a_success_before_the_limit_resets_the_count(db_url: str, make_app) -> None:  # type: ignore[no-untyped-def]
    app = await lockout_app(make_app, db_url)
    await app.sign_up()
    client = app.new_client()
    for _ in range(4):
        assert (await sign_in_from(client, app)).status_code == 401
    assert (await sign_in_from(client, app, **CREDENTIALS)).status_code == 200
    for _ in range(5):
        assert_error(await sign_in_from(client, app), 401, "INVALID_EMAIL_OR_PASSWORD")
    assert_locked(await sign_in_from(client, app, **CREDENTIALS))
    await client.aclose()


async def test_the_lock_is_per_email(db_url: str, make_app) -> None:  # type: ignore[no-untyped-def]
    app = await lockout_app(make_app, db_url)
    await app.sign_up()
    await app.sign_up(email="bob@example.com")
    client = app.new_client()
    for _ in range(6):
        await sign_in_from(client, app)
    assert_locked(await sign_in_from(client, app))
    r = await sign_in_from(client, app, email="bob@example.com", password="a fine passphrase")
    assert r.status_code == 200, r.text
    await client.aclose()


async def test_existing_sessions_keep_working_while_locked(db_url: str, make_app) -> None:  # type: ignore[no-untyped-def]
    app = await lockout_app(make_app, db_url)
    await app.sign_up()  # app.client holds this session
    attacker = app.new_client()
    for _ in range(6):
        await sign_in_from(attacker, app)
    assert_locked(await sign_in_from(attacker, app, **CREDENTIALS))
    await attacker.aclose()
    session = (await app.get("/get-session")).json()
    assert session is not None and session["user"]["email"] == "ann@example.com"
    r = await app.post("/update-user", {"name": "Still Ann"})
    assert r.status_code == 200, r.text
    assert (await app.get("/get-session")).json()["user"]["name"] == "Still Ann"


async def test_the_lock_lifts_when_the_window_ends(db_url: str, make_app) -> None:  # type: ignore[no-untyped-def]
    app = await lockout_app(make_app, db_url, window=60)
    await app.sign_up()
    start = app.ctx.now()
    app.auth.ctx.clock = lambda: start
    client = app.new_client()
    for _ in range(5):
        await sign_in_from(client, app)
    assert assert_locked(await sign_in_from(client, app, **CREDENTIALS), 60) == 60
    app.auth.ctx.clock = lambda: start + timedelta(seconds=45)
    assert assert_locked(await sign_in_from(client, app, **CREDENTIALS), 60) == 15
    app.auth.ctx.clock = lambda: start + timedelta(seconds=61)
    r = await sign_in_from(client, app, **CREDENTIALS)
    assert r.status_code == 200, r.text
    await client.aclose()


async def test_failures_outside_the_window_are_forgotten(db_url: str, make_app) -> None:  # type: ignore[no-untyped-def]
    app = await lockout_app(make_app, db_url, window=60)
    await app.sign_up()
    start = app.ctx.now()
    app.auth.ctx.clock = lambda: start
    client = app.new_client()
    for _ in range(4):
        await sign_in_from(client, app)
    app.auth.ctx.clock = lambda: start + timedelta(seconds=61)
    for _ in range(5):
        assert_error(await sign_in_from(client, app), 401, "INVALID_EMAIL_OR_PASSWORD")
    assert_locked(await sign_in_from(client, app), 60)
    await client.aclose()


async def test_a_password_reset_lifts_the_lock(db_url: str, make_app) -> None:  # type: ignore[no-untyped-def]
    """A lock must not become a denial of service: the owner can still reset (OWASP)."""
    app = await lockout_app(make_app, db_url)
    await app.sign_up()
    client = app.new_client()
    for _ in range(6):
        await sign_in_from(client, app)
    assert_locked(await sign_in_from(client, app, **CREDENTIALS))
    r = await client.post(app.api("/request-password-reset"), json={"email": "ann@example.com"})
    assert r.status_code == 200, r.text
    token = app.mails("ann@example.com")[-1].url.split("/reset-password/")[1].split("?")[0]
    r = await client.post(app.api("/reset-password"), json={"token": token, "newPassword": "a new fine passphrase"})
    assert r.status_code == 200, r.text
    r = await sign_in_from(client, app, password="a new fine passphrase")
    assert r.status_code == 200, r.text
    await client.aclose()


async def test_concurrent_wrong_passwords_never_exceed_max_failures_checks(
    db_url: str,
    make_app,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    app = await lockout_app(make_app, db_url)
    await app.sign_up()
    hasher = app.auth.ctx.hasher
    real_verify = hasher.verify
    checks = 0

    async def counting_verify(stored: str, password: str) -> bool:
        nonlocal checks
        checks += 1
        return await real_verify(stored, password)

    monkeypatch.setattr(hasher, "verify", counting_verify)
    clients = [app.new_client() for _ in range(20)]
    results = await asyncio.gather(*[sign_in_from(c, app) for c in clients])
    for c in clients:
        await c.aclose()
    codes = sorted(r.json()["code"] for r in results)
    assert codes.count("INVALID_EMAIL_OR_PASSWORD") == 5, codes
    assert codes.count("ACCOUNT_LOCKED") == 15, codes
    assert checks <= app.auth.settings.lockout.max_failures
    client = app.new_client()
    assert_locked(await sign_in_from(client, app, **CREDENTIALS))
    await client.aclose()


async def test_lockout_can_be_turned_off(make_app) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(lockout=dataclasses.replace(LockoutSettings(), enabled=False))
    await app.sign_up()
    client = app.new_client()
    for _ in range(8):
        assert (await sign_in_from(client, app)).status_code == 401
    assert (await sign_in_from(client, app, **CREDENTIALS)).status_code == 200
    await client.aclose()
