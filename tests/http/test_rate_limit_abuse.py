"""Abuse cases for the rate limiter and the client IP ("Hardening II", items 1-3): buckets per
route pattern, a bounded in-memory table, and proxy headers read the way a proxy writes them."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

from authkeeper.core.ports import AuditQuery
from authkeeper.core.settings import RateLimitRule, RateLimitSettings, Settings
from authkeeper.web import client_ip as cip
from authkeeper.web import ratelimit
from tests.conftest import ORIGIN, TestApp
from tests.http.test_rate_limit_and_lockout import (
    WRONG,
    FakeMonotonic,
    assert_rate_limited,
    client_from,
    limited_app,
)
from tests.pages.helpers import PASSWORD, Visitor

pytestmark = pytest.mark.anyio

LONG = RateLimitRule(window=60, max=2)
SHORT = RateLimitRule(window=1, max=2)


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeMonotonic:
    fake = FakeMonotonic()
    monkeypatch.setattr(ratelimit, "time", fake)
    return fake


# -- item 1: one bucket per route, not per path value --------------------------------------
async def test_distinct_reset_tokens_share_one_bucket_and_stop_reaching_the_store(
    make_app,
    fake_time: FakeMonotonic,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    app = await limited_app(make_app)
    store = app.auth.store
    real = store.find_verification
    lookups = 0

    async def counting(identifier: str, now: Any) -> Any:
        nonlocal lookups
        lookups += 1
        return await real(identifier, now)

    monkeypatch.setattr(store, "find_verification", counting)
    statuses = [(await app.get(f"/reset-password/token{i:04d}")).status_code for i in range(1000)]
    assert statuses[:100] == [302] * 100
    assert statuses[100:] == [429] * 900
    assert lookups == 100  # a limited request never reaches the database
    assert_rate_limited(await app.get("/reset-password/yet-another-token"), 10)


async def test_a_wildcard_rule_applies_to_a_parameterised_route(make_app, fake_time: FakeMonotonic) -> None:  # type: ignore[no-untyped-def]
    app = await limited_app(make_app, rate_limit=RateLimitSettings(rules={"/reset-password/*": LONG}))
    assert (await app.get("/reset-password/aaa")).status_code == 302
    assert (await app.get("/reset-password/bbb")).status_code == 302
    assert assert_rate_limited(await app.get("/reset-password/ccc"), 60) == 60
    # POST /reset-password is another route with its own bucket.
    r = await app.post("/reset-password", {"token": "nope", "newPassword": "a fine passphrase"})
    assert r.json()["code"] == "INVALID_TOKEN"


async def test_a_rule_may_name_the_route_pattern(make_app, fake_time: FakeMonotonic) -> None:  # type: ignore[no-untyped-def]
    app = await limited_app(make_app, rate_limit=RateLimitSettings(rules={"/callback/{id}": LONG}))
    assert (await app.get("/callback/github")).status_code == 302
    assert (await app.get("/callback/google")).status_code == 302
    assert_rate_limited(await app.get("/callback/anything-else"), 60)
    assert_rate_limited(await app.client.post(app.api("/callback/other"), data={"a": "b"}), 60)


async def test_unknown_paths_do_not_grow_the_limiter(make_app, fake_time: FakeMonotonic) -> None:  # type: ignore[no-untyped-def]
    app = await limited_app(make_app)
    limiter = app.auth.api.limiter
    assert isinstance(limiter, ratelimit.MemoryLimiter)
    for i in range(300):
        assert (await app.get(f"/no-such-endpoint-{i}")).status_code == 404
        assert (await app.get(f"/reset-password/{i}/deeper")).status_code == 404
    assert len(limiter) == 0
    await app.get("/reset-password/one")
    await app.get("/reset-password/two")
    assert len(limiter) == 1


async def test_the_pages_count_in_the_api_route_bucket(make_app, fake_time: FakeMonotonic) -> None:  # type: ignore[no-untyped-def]
    app = await limited_app(
        make_app, rate_limit=RateLimitSettings(rules={"/reset-password": RateLimitRule(window=60, max=1)})
    )
    v = Visitor(app)
    # (a bad link's page shows no form, so the CSRF token comes from another page: it is the visitor's)
    r = await v.submit("/sign-in", "/reset-password", {"token": "abc", "password": PASSWORD})
    assert r.status_code == 400  # an unknown token, counted
    r = await v.http.post(
        app.api("/reset-password"), json={"token": "abc", "newPassword": PASSWORD}, headers={"origin": ORIGIN}
    )
    assert_rate_limited(r, 60)
    await v.close()
    assert app.auth.api.route_of("/reset-password/xyz") == "/reset-password/{token}"
    assert app.auth.api.route_of("/reset-password") == "/reset-password"
    assert app.auth.api.route_of("/nothing-here") is None


# -- item 2: a bounded in-memory table ------------------------------------------------------
async def test_the_key_cap_holds(fake_time: FakeMonotonic) -> None:
    limiter = ratelimit.MemoryLimiter(max_keys=100)
    for i in range(1000):
        assert await limiter.hit(f"198.51.100.{i}|/ok", LONG) == 0
    assert len(limiter) == 100


async def test_a_blocked_key_stays_blocked_while_other_keys_flood(fake_time: FakeMonotonic) -> None:
    limiter = ratelimit.MemoryLimiter(max_keys=100)
    attacker = "203.0.113.1|/sign-in/email"
    assert [await limiter.hit(attacker, LONG) for _ in range(3)][:2] == [0, 0]
    for i in range(200):
        fake_time.now += 0.1
        assert await limiter.hit(f"10.0.{i // 256}.{i % 256}|/ok", LONG) == 0
    assert len(limiter) == 100
    assert await limiter.hit(attacker, LONG) > 0
    fake_time.now += 60
    assert await limiter.hit(attacker, LONG) == 0  # and released when its window ends


async def test_least_recently_used_open_keys_go_first(fake_time: FakeMonotonic) -> None:
    limiter = ratelimit.MemoryLimiter(max_keys=2)
    assert await limiter.hit("a", LONG) == 0
    assert await limiter.hit("b", LONG) == 0
    fake_time.now += 1
    assert await limiter.hit("a", LONG) == 0  # a is at its limit now (blocked), b is open
    assert await limiter.hit("c", LONG) == 0  # b goes
    assert await limiter.hit("a", LONG) > 0
    assert await limiter.hit("b", LONG) == 0  # forgotten: a fresh window; c goes
    assert await limiter.hit("b", LONG) == 0
    assert await limiter.hit("b", LONG) > 0


async def test_expired_windows_are_evicted_before_live_ones(fake_time: FakeMonotonic) -> None:
    limiter = ratelimit.MemoryLimiter(max_keys=3)
    assert await limiter.hit("old-but-live", LONG) == 0  # the least recently used key
    fake_time.now += 1
    assert await limiter.hit("short", SHORT) == 0
    assert await limiter.hit("other", LONG) == 0
    fake_time.now += 2  # "short" has expired, "old-but-live" has not
    assert await limiter.hit("new", LONG) == 0
    assert len(limiter) == 3
    assert await limiter.hit("old-but-live", LONG) == 0  # its count (1) was kept: now 2
    assert await limiter.hit("old-but-live", LONG) > 0


async def test_when_every_key_is_blocked_new_keys_share_one_overflow_bucket(fake_time: FakeMonotonic) -> None:
    limiter = ratelimit.MemoryLimiter(max_keys=10)
    for i in range(10):
        for _ in range(2):
            assert await limiter.hit(f"blocked{i}", LONG) == 0
    assert len(limiter) == 10
    # The table is full of blocked keys: none is forgotten, new keys are not let through unlimited.
    results = [await limiter.hit(f"newcomer{i}", LONG) for i in range(50)]
    assert results[:2] == [0, 0] and all(r > 0 for r in results[2:])
    for i in range(10):
        assert await limiter.hit(f"blocked{i}", LONG) > 0
    fake_time.now += 60
    assert await limiter.hit("newcomer-after-the-window", LONG) == 0


async def test_memory_for_the_cap_stays_bounded(fake_time: FakeMonotonic) -> None:
    cap = 2000
    limiter = ratelimit.MemoryLimiter(max_keys=cap)
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for i in range(2 * cap):  # past the cap once: the tables have their working size
            await limiter.hit(f"2001:db8:{i:x}::/64|/sign-in/email", LONG)
        at_cap, _ = tracemalloc.get_traced_memory()
        for i in range(2 * cap, 20 * cap):
            await limiter.hit(f"2001:db8:{i:x}::/64|/sign-in/email", LONG)
        after_flood, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(limiter) == cap
    assert after_flood - before < (at_cap - before) * 1.1, (at_cap, after_flood)
    assert (after_flood - before) / cap < 1024  # bytes per key held


async def test_the_key_cap_is_a_setting(make_app) -> None:  # type: ignore[no-untyped-def]
    app: TestApp = await make_app(rate_limit=RateLimitSettings(memory_max_keys=123))
    limiter = app.auth.api.limiter
    assert isinstance(limiter, ratelimit.MemoryLimiter) and limiter.max_keys == 123
    assert RateLimitSettings().memory_max_keys == 100_000
    bad = Settings(secret="x" * 40, rate_limit=RateLimitSettings(memory_max_keys=0))
    assert any(p.startswith("rate_limit.memory_max_keys") for p in bad.problems())


# -- item 3: X-Forwarded-For as a proxy writes it -------------------------------------------
PROXIES = cip.parse_networks(("127.0.0.1/32", "10.0.0.0/8", "fd00::/8"))


@pytest.mark.parametrize(
    ("peer", "lines", "expected"),
    [
        # the client's own line first, the proxy's appended line last: the proxy's wins
        ("127.0.0.1", ["6.6.6.6", "203.0.113.5"], "203.0.113.5"),
        ("127.0.0.1", ["6.6.6.6, 7.7.7.7", "203.0.113.5, 10.0.0.2"], "203.0.113.5"),
        # several trusted hops, in one line or in several
        ("127.0.0.1", ["203.0.113.5, 10.0.0.2, 10.0.0.3"], "203.0.113.5"),
        ("10.9.9.9", ["203.0.113.5", "10.0.0.2", "10.0.0.3"], "203.0.113.5"),
        ("127.0.0.1", ["10.1.2.3, 10.4.5.6"], "10.1.2.3"),  # every hop trusted: the first
        # garbage stops the walk at the last trusted hop (never the client's choice)
        ("127.0.0.1", ["garbage"], "127.0.0.1"),
        ("127.0.0.1", ["6.6.6.6, garbage"], "127.0.0.1"),
        ("127.0.0.1", ["6.6.6.6, unknown, 10.0.0.2"], "10.0.0.2"),
        ("127.0.0.1", ["6.6.6.6", "1.2.3.4.5"], "127.0.0.1"),
        ("127.0.0.1", ["6.6.6.6,, 203.0.113.5"], "203.0.113.5"),
        ("127.0.0.1", ["6.6.6.6, , 10.0.0.2"], "10.0.0.2"),  # an empty entry stops the walk too
        ("127.0.0.1", ["203.0.113.5,"], "127.0.0.1"),
        ("127.0.0.1", ["", "203.0.113.5"], "203.0.113.5"),
        # IPv6 and IPv4-mapped forms, brackets and ports
        ("127.0.0.1", ["::ffff:203.0.113.5"], "203.0.113.5"),
        ("127.0.0.1", ["203.0.113.5, ::ffff:10.0.0.2"], "203.0.113.5"),
        ("127.0.0.1", ["2001:DB8::1:2"], "2001:db8::/64"),
        ("127.0.0.1", ["[2001:db8::1]:4711"], "2001:db8::/64"),
        ("127.0.0.1", ["203.0.113.5:4711"], "203.0.113.5"),
        ("127.0.0.1", ["203.0.113.5, fd00::7"], "203.0.113.5"),
        ("::ffff:127.0.0.1", ["203.0.113.5"], "203.0.113.5"),
        # no header, or a peer that is not a proxy: the peer
        ("127.0.0.1", [], "127.0.0.1"),
        ("198.51.100.1", ["203.0.113.5"], "198.51.100.1"),
        ("2001:db8::9", ["203.0.113.5"], "2001:db8::/64"),
    ],
)
def test_client_ip_reads_every_line_from_the_right(peer: str, lines: list[str], expected: str) -> None:
    assert cip.client_ip(peer, lines, PROXIES) == expected


def test_without_trusted_proxies_every_header_is_ignored() -> None:
    assert cip.client_ip("127.0.0.1", ["6.6.6.6", "203.0.113.5"], ()) == "127.0.0.1"
    assert cip.client_ip("::ffff:192.0.2.7", ["203.0.113.5"], ()) == "192.0.2.7"


def proxied_headers(*lines: str) -> list[tuple[str, str]]:
    return [("origin", ORIGIN), *(("x-forwarded-for", line) for line in lines)]


async def test_a_client_sent_line_does_not_beat_the_proxy_line_and_the_audit_row_says_so(
    make_app, fake_time: FakeMonotonic
) -> None:  # type: ignore[no-untyped-def]
    app = await limited_app(make_app, trusted_proxies=("127.0.0.1/32",))
    client = app.new_client()  # its socket, 127.0.0.1, is the proxy
    body = {"email": "ann@example.com", "password": "a fine passphrase", "name": "Ann"}
    r = await client.post(app.api("/sign-up/email"), json=body, headers=proxied_headers("6.6.6.6", "203.0.113.7"))
    assert r.status_code == 200, r.text
    events, _ = await app.auth.store.list_audit(AuditQuery(events=("sign-up",)))
    assert [e.ip_address for e in events] == ["203.0.113.7"]
    user = await app.auth.store.find_user_by_email("ann@example.com")
    assert user is not None
    sessions = await app.auth.store.list_sessions(user.id, app.ctx.now())
    assert [s.ip_address for s in sessions] == ["203.0.113.7"]
    # The bucket is the proxy-seen address's: changing the client's line does not escape it.
    for i in range(3):
        client.cookies.clear()
        r = await client.post(
            app.api("/sign-in/email"), json=WRONG, headers=proxied_headers(f"6.6.6.{i}", "203.0.113.7")
        )
        assert r.status_code == 401
    client.cookies.clear()
    r = await client.post(app.api("/sign-in/email"), json=WRONG, headers=proxied_headers("1.1.1.1", "203.0.113.7"))
    assert_rate_limited(r, 10)
    events, _ = await app.auth.store.list_audit(AuditQuery(events=("sign-in-failed",)))
    assert {e.ip_address for e in events} == {"203.0.113.7"}
    await client.aclose()


async def test_headers_are_ignored_from_a_peer_that_is_not_a_proxy(make_app, fake_time: FakeMonotonic) -> None:  # type: ignore[no-untyped-def]
    app = await limited_app(make_app, trusted_proxies=("10.0.0.0/8",))
    client = client_from(app, "198.51.100.9")
    body = {"email": "ann@example.com", "password": "a fine passphrase", "name": "Ann"}
    r = await client.post(app.api("/sign-up/email"), json=body, headers=proxied_headers("6.6.6.6", "203.0.113.7"))
    assert r.status_code == 200, r.text
    events, _ = await app.auth.store.list_audit(AuditQuery(events=("sign-up",)))
    assert [e.ip_address for e in events] == ["198.51.100.9"]
    await client.aclose()


async def test_the_proxy_header_is_a_setting(make_app, fake_time: FakeMonotonic) -> None:  # type: ignore[no-untyped-def]
    assert Settings().proxy_headers == ("X-Forwarded-For",)
    app = await limited_app(make_app, trusted_proxies=("127.0.0.1/32",), proxy_headers=("X-Real-IP",))
    client = app.new_client()
    headers = [("origin", ORIGIN), ("x-forwarded-for", "6.6.6.6"), ("x-real-ip", "203.0.113.8")]
    body = {"email": "ann@example.com", "password": "a fine passphrase", "name": "Ann"}
    assert (await client.post(app.api("/sign-up/email"), json=body, headers=headers)).status_code == 200
    events, _ = await app.auth.store.list_audit(AuditQuery(events=("sign-up",)))
    assert [e.ip_address for e in events] == ["203.0.113.8"]
    await client.aclose()
    bad = Settings(secret="x" * 40, trusted_proxies=("10.0.0.0/8",), proxy_headers=("Bad Header",))
    assert any(p.startswith("proxy_headers") for p in bad.problems())
    bad = Settings(secret="x" * 40, trusted_proxies=("not a network",))
    assert any(p.startswith("trusted_proxies") for p in bad.problems())


async def test_the_pages_read_the_proxy_line_too(make_app, fake_time: FakeMonotonic) -> None:  # type: ignore[no-untyped-def]
    app = await limited_app(make_app, trusted_proxies=("127.0.0.1/32",))
    v = Visitor(app)
    token = await v.token("/sign-up")
    form = {"csrf_token": token, "name": "Ann", "email": "ann@example.com", "password": PASSWORD}
    r = await v.http.post("/sign-up", data=form, headers=proxied_headers("6.6.6.6", "203.0.113.9"))
    assert r.status_code == 303, r.text
    await v.close()
    events, _ = await app.auth.store.list_audit(AuditQuery(events=("sign-up",)))
    assert [e.ip_address for e in events] == ["203.0.113.9"]
