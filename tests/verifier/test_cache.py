"""The JWKS cache against a real HTTP server: lifetimes from Cache-Control (clamped), one fetch
for many concurrent callers, throttled refetches on unknown kids, key rotation, and serving
held keys through an outage until max-stale, then 503 — never waiting past the timeout."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from authkeeper.verifier import CachePolicy, Verifier, VerifierError
from authkeeper.verifier.keys import parse_jwks

from .conftest import MakeVerifier
from .support import FakeClock, SigningKey, StubAuthServer, compact, signing_key

pytestmark = pytest.mark.anyio


async def eventually(check: Callable[[], bool], within: float = 2.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def unavailable(verifier: Verifier, token: str) -> VerifierError:
    with pytest.raises(VerifierError) as caught:
        await verifier.verify(token)
    assert (caught.value.status, caught.value.code) == (503, "JWKS_UNAVAILABLE")
    return caught.value


@pytest.mark.parametrize(
    ("cache_control", "age", "ttl"),
    [
        ("public, max-age=120", None, 120),
        ('max-age="90"', None, 90),
        ("public, max-age=300", "100", 200),
        ("max-age=0", None, 30),  # floor
        ("no-store", None, 30),
        ("no-cache, max-age=600", None, 30),
        ("max-age=999999999", None, 86400),  # ceiling
        (None, None, 300),  # no Cache-Control: the default
        ("public", None, 300),
        ("max-age=banana", None, 300),
        ("public, max-age=300", "\u00b2", 300),  # latin-1 0xB2: isdigit() says yes, float() says no
    ],
)
async def test_the_lifetime_follows_cache_control_clamped(
    stub: StubAuthServer, make_verifier: MakeVerifier, cache_control: str | None, age: str | None, ttl: float
) -> None:
    stub.cache_control, stub.age = cache_control, age
    verifier = make_verifier()
    await verifier.prefetch()
    assert verifier.jwks.keyset is not None
    assert verifier.jwks.keyset.ttl == ttl


def test_the_lifetime_reads_only_ascii_digits() -> None:
    """``Age: ²`` reached ``float()`` and raised outside the fetch's error handling; other
    Unicode digits (which a latin-1 header cannot carry) are no HTTP delta-seconds either."""
    policy = CachePolicy()
    assert policy.lifetime({"cache-control": "max-age=300", "age": "\u00b2"}) == 300
    assert policy.lifetime({"cache-control": "max-age=300", "age": "\u0663"}) == 300
    assert policy.lifetime({"cache-control": "max-age=\u0663\u0660\u0660"}) == 300  # the default
    assert policy.lifetime({"cache-control": "max-age=300", "age": "100"}) == 200


class UnreadablePolicy(CachePolicy):
    """A lifetime that cannot be read off the answer: stands for anything that goes wrong
    between receiving an answer and holding its keys."""

    def lifetime(self, headers: Mapping[str, str]) -> float:
        raise RecursionError("deep")


async def test_any_failure_reading_an_answer_is_a_failed_fetch(
    stub: StubAuthServer, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    settings: dict[str, float] = {"default_ttl": 60, "max_stale": 120, "retry_interval": 5}
    stub.cache_control = None
    verifier = make_verifier(cache=CachePolicy(**settings))
    token = signing_key("EdDSA").sign(stub.claims())
    await verifier.verify(token)
    verifier.jwks.policy = UnreadablePolicy(**settings)

    clock.advance(61)  # expired: the refetch fails, the held keys keep verifying
    assert (await verifier.verify(token)).sub == "user-1"
    assert verifier.jwks.degraded
    attempts = stub.jwks_requests
    for _ in range(20):  # throttled: no fetch per request
        assert (await verifier.verify(token)).sub == "user-1"
    assert stub.jwks_requests == attempts
    clock.advance(120)  # past max_stale: 503, not the exception
    await unavailable(verifier, token)

    cold = make_verifier(cache=UnreadablePolicy(**settings))
    await unavailable(cold, token)  # a cold cache: 503 ...
    requests = stub.jwks_requests
    await unavailable(cold, token)  # ... and no fetch again inside retry_interval
    assert stub.jwks_requests == requests


async def test_max_age_is_honoured_then_refetched(
    stub: StubAuthServer, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    stub.cache_control = "max-age=120"
    verifier = make_verifier()
    token = signing_key("EdDSA").sign(stub.claims())
    await verifier.verify(token)
    clock.advance(119)
    await verifier.verify(token)
    assert stub.jwks_requests == 1
    clock.advance(2)
    await verifier.verify(token)
    assert stub.jwks_requests == 2


async def test_the_floor_holds_against_max_age_zero(
    stub: StubAuthServer, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    stub.cache_control = "max-age=0"
    verifier = make_verifier(cache=CachePolicy(min_ttl=10))
    token = signing_key("ES256").sign(stub.claims())
    for _ in range(20):
        await verifier.verify(token)
        clock.advance(0.4)
    assert stub.jwks_requests == 1
    clock.advance(2.1)
    await verifier.verify(token)
    assert stub.jwks_requests == 2


async def test_a_cold_cache_under_50_concurrent_verifications_fetches_once(
    stub: StubAuthServer, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    stub.delay = 0.2  # the fetch is still under way while every caller arrives
    verifier = make_verifier()
    tokens = [signing_key(alg).sign(stub.claims(sub=f"u{i}")) for i, alg in enumerate(["EdDSA", "RS256"] * 25)]
    claims = await asyncio.gather(*(verifier.verify(t) for t in tokens))
    assert [c.sub for c in claims] == [f"u{i}" for i in range(50)]
    assert stub.jwks_requests == 1
    clock.advance(301)  # expired: the next burst refreshes once too
    await asyncio.gather(*(verifier.verify(t) for t in tokens))
    assert stub.jwks_requests == 2


async def test_a_caller_giving_up_does_not_cancel_the_fetch_for_the_others(
    stub: StubAuthServer, make_verifier: MakeVerifier
) -> None:
    stub.delay = 0.2
    verifier = make_verifier()
    token = signing_key("EdDSA").sign(stub.claims())
    impatient = asyncio.ensure_future(verifier.verify(token))
    patient = asyncio.ensure_future(verifier.verify(token))
    await asyncio.sleep(0.05)
    impatient.cancel()
    assert (await patient).sub == "user-1"
    assert stub.jwks_requests == 1


def forged_kid(key: SigningKey, stub: StubAuthServer, i: int) -> str:
    return key.sign(stub.claims(), kid=f"forged-{i}")


async def test_a_flood_of_unknown_kids_refetches_at_most_once_per_interval(
    stub: StubAuthServer, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    verifier = make_verifier(cache=CachePolicy(refetch_interval=30))
    key = signing_key("EdDSA")
    await verifier.verify(key.sign(stub.claims()))
    assert stub.jwks_requests == 1
    results = await asyncio.gather(
        *(verifier.verify(forged_kid(key, stub, i)) for i in range(200)), return_exceptions=True
    )
    assert all(isinstance(r, VerifierError) and r.code == "UNKNOWN_KEY" for r in results)
    assert stub.jwks_requests == 2  # the first unknown kid refetched; the other 199 joined or waited
    for i in range(200, 400):  # one after another, inside the interval: no fetch at all
        with pytest.raises(VerifierError, match="UNKNOWN_KEY"):
            await verifier.verify(forged_kid(key, stub, i))
        clock.advance(0.1)
    assert stub.jwks_requests == 2
    clock.advance(10.1)
    with pytest.raises(VerifierError, match="UNKNOWN_KEY"):
        await verifier.verify(forged_kid(key, stub, 999))
    assert stub.jwks_requests == 3


async def test_a_rotated_key_verifies_after_a_refetch(stub: StubAuthServer, make_verifier: MakeVerifier) -> None:
    old, new = signing_key("EdDSA"), signing_key("EdDSA", 3)
    stub.keys = [old]
    verifier = make_verifier()
    await verifier.verify(old.sign(stub.claims()))
    stub.keys = [new, old]  # the auth server rotated: new tokens are signed with the new key
    assert (await verifier.verify(new.sign(stub.claims(sub="rotated")))).sub == "rotated"
    assert stub.jwks_requests == 2
    assert (await verifier.verify(old.sign(stub.claims()))).sub == "user-1"  # the old key still verifies


async def test_a_retired_key_stops_verifying_once_the_set_expires(
    stub: StubAuthServer, make_verifier: MakeVerifier, clock: FakeClock
) -> None:
    old, new = signing_key("EdDSA"), signing_key("EdDSA", 3)
    stub.keys = [old, new]
    verifier = make_verifier()
    token = old.sign(stub.claims())
    await verifier.verify(token)
    stub.keys = [new]
    clock.advance(301)
    with pytest.raises(VerifierError, match="UNKNOWN_KEY"):
        await verifier.verify(token)


def down(stub: StubAuthServer, mode: str) -> None:
    if mode == "stopped":
        stub.stop()
    else:
        stub.mode = mode


OUTAGES = ["500", "hang", "stopped", "garbage", "empty", "huge", "redirect"]


@pytest.mark.parametrize("mode", OUTAGES)
async def test_an_outage_serves_held_keys_until_max_stale_then_503(
    stub: StubAuthServer, make_verifier: MakeVerifier, clock: FakeClock, mode: str
) -> None:
    policy = CachePolicy(default_ttl=60, max_stale=120, retry_interval=5)
    verifier = make_verifier(cache=policy, timeout=0.6)
    stub.cache_control = None
    token = signing_key("ES512").sign(stub.claims())
    await verifier.verify(token)
    down(stub, mode)

    clock.advance(61)  # expired: one attempt (bounded by the timeout), then the held keys
    started = time.monotonic()
    assert (await verifier.verify(token)).sub == "user-1"
    assert time.monotonic() - started < 2.0
    assert verifier.jwks.degraded
    attempts = stub.jwks_requests

    clock.advance(1)  # known down, no retry due: no waiting at all
    started = time.monotonic()
    for _ in range(50):
        assert (await verifier.verify(token)).sub == "user-1"
    assert time.monotonic() - started < 1.0
    assert stub.jwks_requests == attempts

    clock.advance(5)  # a retry is due: it runs in the background, the caller does not wait
    started = time.monotonic()
    assert (await verifier.verify(token)).sub == "user-1"
    assert time.monotonic() - started < 0.4  # less than the timeout: nobody waited on the hang
    if mode != "stopped":
        await eventually(lambda: stub.jwks_requests == attempts + 1)

    clock.advance(115)  # past expiry + max_stale
    await unavailable(verifier, token)
    started = time.monotonic()
    await unavailable(verifier, token)  # no retry due: refused at once
    assert time.monotonic() - started < 0.4


@pytest.mark.parametrize("mode", ["500", "hang", "garbage"])
async def test_the_service_recovers_when_the_auth_server_answers_again(
    stub: StubAuthServer, make_verifier: MakeVerifier, clock: FakeClock, mode: str
) -> None:
    verifier = make_verifier(cache=CachePolicy(retry_interval=5), timeout=0.3)
    token = signing_key("EdDSA").sign(stub.claims())
    down(stub, mode)
    await unavailable(verifier, token)  # a cold cache and no answer: 503, not a crash
    requests = stub.jwks_requests
    await unavailable(verifier, token)  # inside retry_interval: refused without asking
    assert stub.jwks_requests == requests
    stub.mode = "ok"
    clock.advance(5)
    assert (await verifier.verify(token)).sub == "user-1"
    assert not verifier.jwks.degraded


async def test_a_stopped_server_on_a_cold_cache_is_a_quick_503(
    stub: StubAuthServer, make_verifier: MakeVerifier
) -> None:
    verifier = make_verifier()
    token = signing_key("EdDSA").sign(stub.claims())
    stub.stop()
    started = time.monotonic()
    await unavailable(verifier, token)
    await unavailable(verifier, token)
    assert time.monotonic() - started < 1.0


async def test_a_hanging_server_never_blocks_the_event_loop_nor_past_the_timeout(
    stub: StubAuthServer, make_verifier: MakeVerifier
) -> None:
    stub.mode = "hang"
    verifier = make_verifier(timeout=0.4)
    token = signing_key("EdDSA").sign(stub.claims())
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.ensure_future(ticker())
    started = time.monotonic()
    await unavailable(verifier, token)
    elapsed = time.monotonic() - started
    task.cancel()
    assert 0.35 < elapsed < 1.2
    assert ticks >= 10  # the loop kept running other work meanwhile


def test_the_verifier_survives_a_new_event_loop(stub: StubAuthServer) -> None:
    """A verifier made at import time outlives the loops of test clients: the client it made on
    one loop is not reused on the next."""
    stub.cache_control, stub.keep_alive = "max-age=0", True
    stub.stop()
    stub.start()
    verifier = Verifier(stub.jwks_url, cache=CachePolicy(min_ttl=0.01))
    token = signing_key("EdDSA").sign(stub.claims())

    async def verify_twice() -> None:
        for _ in range(2):
            await asyncio.sleep(0.02)
            await verifier.verify(token)

    asyncio.run(verify_twice())
    asyncio.run(verify_twice())
    asyncio.run(verifier.aclose())
    assert stub.jwks_requests == 4  # every verification found the keys expired
    assert not verifier.jwks.degraded  # and every fetch worked, on either loop


def test_unusable_keys_are_dropped_one_by_one() -> None:
    ed, es = signing_key("EdDSA"), signing_key("ES256")
    rsa_small = {"kty": "RSA", "kid": "small", "alg": "RS256", "n": "sXch", "e": "AQAB"}
    no_alg = {**es.jwk(), "kid": "no-alg"}
    no_alg.pop("alg")
    body: dict[str, list[Any]] = {
        "keys": [
            ed.jwk(),
            {**es.jwk(), "kid": "curve-mismatch", "alg": "ES512"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0", "alg": "HS256"},
            {**ed.jwk(), "kid": "private", "d": "AAAA"},
            {**ed.jwk(), "kid": "encryption", "use": "enc"},
            {**ed.jwk(), "kid": "none", "alg": "none"},
            {**es.jwk(), "kid": ""},
            rsa_small,
            {**es.jwk(), "kid": ed.kid},  # a duplicate kid: the first stays
            "not a key",
            no_alg,
        ]
    }
    keys = parse_jwks(json.dumps(body).encode())
    assert sorted(keys) == sorted([ed.kid, "no-alg"])
    assert keys[ed.kid].algorithm == "EdDSA"
    assert keys["no-alg"].algorithm == "ES256"  # derived from the curve


def test_configuration_errors_fail_at_construction() -> None:
    for bad in (
        {"min_ttl": 0},
        {"min_ttl": 100, "max_ttl": 10},
        {"default_ttl": -1},
        {"max_stale": -1},
        {"retry_interval": -1},
    ):
        with pytest.raises(ValueError):
            CachePolicy(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Verifier("http://127.0.0.1:1/api/auth/jwks", timeout=0)
    with pytest.raises(ValueError):
        Verifier("http://127.0.0.1:1/api/auth/jwks", leeway=-1)


async def test_a_shared_client_is_used_and_left_open(stub: StubAuthServer) -> None:
    import httpx

    seen: list[str] = []

    async def record(request: httpx.Request) -> None:
        seen.append(str(request.url))

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as client:
        verifier = Verifier(stub.jwks_url, client=client)
        await verifier.verify(signing_key("RS256").sign(stub.claims()))
        await verifier.aclose()
        assert seen == [stub.jwks_url]
        assert not client.is_closed


async def test_a_forged_kid_on_a_cold_cache_fetches_at_most_twice(
    stub: StubAuthServer, make_verifier: MakeVerifier
) -> None:
    verifier = make_verifier()
    token = compact({"alg": "EdDSA", "kid": "forged"}, stub.claims(), b"x" * 64)
    with pytest.raises(VerifierError, match="UNKNOWN_KEY"):
        await verifier.verify(token)
    assert stub.jwks_requests == 2  # the cold fetch, and the one unknown-kid refetch
    with pytest.raises(VerifierError, match="UNKNOWN_KEY"):
        await verifier.verify(token)
    assert stub.jwks_requests == 2
