"""Signing keys: made lazily and exactly once however many workers ask at once, rotated on the
app's clock with the successor published before it signs, retired keys kept in the JWKS for
as long as their tokens live (plus the grace period) and no longer, private halves encrypted
at rest and readable after a secret rotation, and rows that cannot be used skipped without a
500."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt as pyjwt
import pytest

from authkeeper.core.crypto import symmetric
from authkeeper.core.ports import AuditQuery
from authkeeper.plugins.jwt import JwtSettings
from authkeeper.plugins.jwt import keyring as keyring_module
from authkeeper.plugins.jwt import keys as keys_module
from tests.conftest import SECRET, TestApp

from .helpers import (
    bearer,
    claims_of,
    freeze,
    get_token,
    header_of,
    jwks,
    kids,
    records,
    service,
    session_token,
    verify_with_jwks,
)

pytestmark = pytest.mark.anyio

DAY = 86400
# Small numbers, the rules of keyring.py: a key signs for an hour, is published 300 s before,
# and stays in the JWKS for max_expires_in (900) + grace_period (600) after it stops signing.
ROTATING = JwtSettings(
    enabled=True,
    rotation_interval=3600,
    jwks_max_age=300,
    expires_in=900,
    max_expires_in=900,
    grace_period=600,
)
NEW_SECRET = "another-secret-9876543210-zyxwvutsrqponmlkjihgfedcba"
HEX = re.compile(r"^[0-9a-f]+$")
ON = JwtSettings(enabled=True)


async def published_kids(app: TestApp) -> list[str]:
    return [k["kid"] for k in await jwks(app)]


# -- the first key ------------------------------------------------------------------------
async def test_the_first_key_is_made_by_the_first_jwks_request(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=ON)
    await session_token(app)
    assert await kids(app) == []  # signing up, starting up: no key yet
    keys = await jwks(app)
    assert [k["kid"] for k in keys] == await kids(app) and len(keys) == 1
    assert await jwks(app) == keys
    events, _ = await app.auth.store.list_audit(AuditQuery(limit=50))
    made = [e for e in events if e.event == "jwt-key-created"]
    assert len(made) == 1 and made[0].details["kid"] == keys[0]["kid"]


async def test_the_first_key_is_made_by_the_first_token(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=ON)
    await session_token(app)
    token = await get_token(app)
    assert await kids(app) == [header_of(token)["kid"]]
    assert header_of(await get_token(app))["kid"] == header_of(token)["kid"]


async def test_fifty_first_requests_on_several_workers_make_one_key(db_url: str, make_app: Callable[..., Any]) -> None:
    workers: list[TestApp] = [await make_app(db_url=db_url, jwt=ON) for _ in range(5)]
    signed = await session_token(workers[0])
    assert await kids(workers[0]) == []
    responses = await asyncio.gather(
        *(workers[i % 5].client.get(workers[0].api("/token"), headers=bearer(signed)) for i in range(50))
    )
    assert [r.status_code for r in responses] == [200] * 50, {r.text for r in responses if r.status_code != 200}
    assert len(await kids(workers[0])) == 1, await records(workers[0])
    assert len({header_of(r.json()["token"])["kid"] for r in responses}) == 1


async def test_a_burst_of_first_requests_in_one_worker_makes_one_key(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=ON)
    signed = await session_token(app)
    responses = await asyncio.gather(*(app.get("/token", headers=bearer(signed)) for _ in range(20)))
    assert [r.status_code for r in responses] == [200] * 20
    assert len(await kids(app)) == 1, [(r.id, r.successor_of) for r in await records(app)]


async def test_a_burst_at_the_rotation_moment_makes_one_successor(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=ROTATING)
    clock = freeze(app)
    signed = await session_token(app)
    await get_token(app, bearer(signed))
    (first,) = await records(app)
    assert first.expires_at is not None
    clock.to(first.expires_at - timedelta(seconds=100))
    responses = await asyncio.gather(*(app.get("/token", headers=bearer(signed)) for _ in range(20)))
    assert [r.status_code for r in responses] == [200] * 20
    # Every one of them still signed with the old key (the successor is not published long enough).
    assert {header_of(r.json()["token"])["kid"] for r in responses} == {first.id}
    assert len(await kids(app)) == 2, [(r.id, r.successor_of) for r in await records(app)]


async def test_rotations_that_read_at_once_make_one_successor(
    db_url: str, make_app: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four workers rotate at once, each having read the rows before any inserts (held at a
    barrier between reading and inserting): the unique successorOf lets one insert win."""
    workers: list[TestApp] = [await make_app(db_url=db_url, jwt=ON) for _ in range(4)]
    await jwks(workers[0])
    (first,) = await kids(workers[0])
    barrier = threading.Barrier(len(workers), timeout=5)
    real_new_key = keys_module.new_key

    def new_key(*args: Any, **kw: Any) -> Any:
        # In the thread rotate() runs it in: wait until every worker has read the rows (a
        # rotation that serialises the workers itself breaks the barrier, and that is fine).
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return real_new_key(*args, **kw)

    monkeypatch.setattr(keys_module, "new_key", new_key)
    results = await asyncio.gather(*(service(w).keys.rotate(reason="test") for w in workers))
    monkeypatch.setattr(keys_module, "new_key", real_new_key)
    assert sum(made for _, made in results) == 1, results
    assert len({record.id for record, _ in results}) == 1
    rows = await records(workers[0])
    assert len(rows) == 2, rows
    (successor,) = [r for r in rows if r.id != first]
    assert successor.successor_of == first


async def test_overlapping_rotations_make_one_successor_even_when_a_read_is_slow(
    db_url: str, make_app: Callable[..., Any]
) -> None:
    """Two workers rotate at once; the second one's database is slow, so its read of the rows
    lands after the first worker's insert. Both calls overlapped: one successor."""
    fast: TestApp = await make_app(db_url=db_url, jwt=ON)
    slow: TestApp = await make_app(db_url=db_url, jwt=ON)
    await jwks(fast)
    (first,) = await kids(fast)
    fast_done = asyncio.Event()
    store = slow.auth.ctx.store
    real_select = store.select

    async def late_select(table: str, *args: Any, **kw: Any) -> list[dict[str, Any]]:
        if table == "jwks":
            with contextlib.suppress(TimeoutError):  # a rotation that serialises workers must not hang here
                await asyncio.wait_for(fast_done.wait(), 5)
        return await real_select(table, *args, **kw)

    async def fast_rotation() -> tuple[Any, bool]:
        try:
            return await service(fast).keys.rotate(reason="test")
        finally:
            fast_done.set()

    store.select = late_select  # type: ignore[method-assign]
    try:
        results = await asyncio.gather(fast_rotation(), service(slow).keys.rotate(reason="test"))
    finally:
        del store.select
    rows = await records(fast)
    assert sum(made for _, made in results) == 1, [(r.id, r.successor_of) for r in rows]
    assert len(rows) == 2 and {r.successor_of for r in rows} == {"", first}


async def test_a_worker_with_a_stale_cache_makes_no_second_successor(
    make_app: Callable[..., Any], tmp_path: Any
) -> None:
    """Scheduled rotation on two workers: the second still has the rows it read before the
    first worker rotated (up to RELOAD_EVERY); when it signs, it must find the successor, not
    make a successor of the successor."""
    url = f"sqlite:///{tmp_path / 'stale.db'}"
    one: TestApp = await make_app(db_url=url, jwt=ROTATING)
    two: TestApp = await make_app(db_url=url, jwt=ROTATING)
    clock = freeze(one, two)
    signed = await session_token(one)
    await get_token(one, bearer(signed))
    await get_token(two, bearer(signed))  # two reads the rows now, and keeps them a while
    (first,) = await records(one)
    assert first.expires_at is not None
    clock.to(first.expires_at - timedelta(seconds=100))
    await get_token(one, bearer(signed))  # one makes the successor
    assert len(await kids(one)) == 2
    await get_token(two, bearer(signed))
    assert len(await kids(one)) == 2, [(r.id, r.successor_of) for r in await records(one)]


async def test_rotation_when_the_newest_key_already_has_a_successor(make_app: Callable[..., Any]) -> None:
    """Worker clocks a couple of seconds apart: B (successor of A) was stamped 2 s ahead by a
    fast clock, C (successor of B, a stale worker's) 1 s ahead by another. B is the newest by
    createdAt but already has its successor."""
    app: TestApp = await make_app(jwt=ROTATING)
    clock = freeze(app)
    signed = await session_token(app)
    await get_token(app, bearer(signed))
    (a,) = await records(app)
    b = keys_module.new_key(
        "EdDSA", secret=SECRET, encrypt=True, now=clock() + timedelta(seconds=2),
        expires_at=clock() + timedelta(seconds=3602), successor_of=a.id,
    )  # fmt: skip
    c = keys_module.new_key(
        "EdDSA", secret=SECRET, encrypt=True, now=clock() + timedelta(seconds=1),
        expires_at=clock() + timedelta(seconds=3601), successor_of=b.id,
    )  # fmt: skip
    for record in (b, c):
        await app.auth.store.insert("jwks", keys_module.row_of(record))
    await service(app).keys.rows(fresh=True)
    # Every key has ended: the next token needs a new one.
    clock.advance(3700)
    r = await app.get("/token", headers=bearer(signed))
    assert r.status_code == 200, r.text
    # And an operator's rotation makes a key rather than reporting a concurrent one.
    clock.advance(10)
    record, made = await service(app).keys.rotate(reason="operator")
    assert made, (record.id, [(k.id, k.successor_of) for k in await records(app)])


# -- scheduled rotation -------------------------------------------------------------------
async def test_scheduled_rotation_publishes_before_signing(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=ROTATING)
    clock = freeze(app)
    await session_token(app)
    t0 = clock()
    old = await get_token(app)
    (a,) = await records(app)
    assert a.expires_at == t0 + timedelta(seconds=3600)
    # Until jwks_max_age before its end, one key.
    clock.to(t0 + timedelta(seconds=3600 - 301))
    assert header_of(await get_token(app))["kid"] == a.id
    assert await published_kids(app) == [a.id]
    # Then a successor is made: published at once, not signing yet.
    clock.to(t0 + timedelta(seconds=3600 - 300))
    assert header_of(await get_token(app))["kid"] == a.id
    rows = await records(app)
    assert len(rows) == 2
    (b,) = [r for r in rows if r.id != a.id]
    assert b.successor_of == a.id and b.created_at == clock()
    assert set(await published_kids(app)) == {a.id, b.id}
    clock.to(t0 + timedelta(seconds=3599))
    last_of_a = await get_token(app)
    assert header_of(last_of_a)["kid"] == a.id
    assert (await get_token(app)) and len(await records(app)) == 2  # no third key
    # When the old key ends, the successor signs (verifiers have had it for jwks_max_age).
    clock.to(t0 + timedelta(seconds=3600))
    assert header_of(await get_token(app))["kid"] == b.id
    assert set(await published_kids(app)) == {a.id, b.id}
    # The old key's tokens keep verifying for their lifetime.
    clock.to(t0 + timedelta(seconds=3599 + 900 - 1))
    keys = await jwks(app)
    assert verify_with_jwks(last_of_a, keys, at=clock())["sub"] == claims_of(old)["sub"]
    assert await service(app).verify(app.ctx, last_of_a) is not None
    assert len(await records(app)) == 2


async def test_a_retired_key_stays_for_its_tokens_plus_grace_then_goes(make_app: Callable[..., Any]) -> None:
    """Another plugin may ask for tokens up to ``max_expires_in``: a retired key stays published
    that long (and ``grace_period``) after it stopped signing, so they verify to their end."""
    app: TestApp = await make_app(jwt=dataclasses.replace(ROTATING, max_expires_in=5000))
    clock = freeze(app)
    signed = await session_token(app)
    await get_token(app)
    (a,) = await records(app)
    assert a.expires_at is not None
    user = await app.auth.store.find_user_by_email("ann@example.com")
    found = await app.auth.store.find_session((await app.get("/get-session")).json()["session"]["token"])
    assert user is not None and found is not None
    clock.to(a.expires_at - timedelta(seconds=1))
    long_lived = (await service(app).issue(app.ctx, user, found[0], expires_in=5000)).token
    assert header_of(long_lived)["kid"] == a.id
    clock.to(a.expires_at + timedelta(seconds=5000 - 10))
    assert a.id in await published_kids(app)
    assert await service(app).verify(app.ctx, long_lived) is not None
    end = a.expires_at + timedelta(seconds=5000 + 600)
    clock.to(end - timedelta(seconds=1))
    assert a.id in await published_kids(app)
    clock.to(end)
    assert a.id not in await published_kids(app)
    assert await service(app).verify(app.ctx, long_lived) is None
    assert header_of(await get_token(app, bearer(signed)))["kid"] != a.id


async def test_rotate_retire_now_switches_the_signer_at_once(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=ROTATING)
    clock = freeze(app)
    await session_token(app)
    old = await get_token(app)
    (a,) = await records(app)
    clock.advance(60)
    record, made = await service(app).keys.rotate(reason="test", retire_now=True)
    assert made and record.successor_of == a.id
    new = await get_token(app)
    assert header_of(new)["kid"] == record.id
    # The old key stopped signing now, and stays published for its tokens.
    (a_now,) = [r for r in await records(app) if r.id == a.id]
    assert a_now.expires_at == clock()
    assert set(await published_kids(app)) == {a.id, record.id}
    assert await service(app).verify(app.ctx, old) is not None
    # A plain rotate publishes first: the signer stays until the new key is jwks_max_age old.
    clock.advance(60)
    later, made = await service(app).keys.rotate(reason="test")
    assert made
    assert header_of(await get_token(app))["kid"] == record.id
    clock.advance(300)
    assert header_of(await get_token(app))["kid"] == later.id


async def test_a_removed_key_signs_and_verifies_no_more(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=ON)
    freeze(app)
    await session_token(app)
    old = await get_token(app)
    kid = header_of(old)["kid"]
    assert await service(app).keys.remove(kid)
    assert not await service(app).keys.remove(kid)
    assert await service(app).verify(app.ctx, old) is None
    assert kid not in await published_kids(app)
    new = await get_token(app)
    assert header_of(new)["kid"] != kid
    assert await service(app).verify(app.ctx, new) is not None


# -- at rest ------------------------------------------------------------------------------
async def test_private_keys_are_encrypted_at_rest(make_app: Callable[..., Any]) -> None:
    app: TestApp = await make_app(jwt=ON)
    await jwks(app)
    (row,) = await app.auth.store.select("jwks")
    stored = json.loads(row["privateKey"])
    assert isinstance(stored, str) and HEX.match(stored), row["privateKey"][:40]
    assert '"d"' not in row["privateKey"] and "kty" not in row["privateKey"]
    jwk = json.loads(symmetric.decrypt((SECRET,), stored))
    assert jwk["kty"] == "OKP" and "d" in jwk and jwk["x"] == json.loads(row["publicKey"])["x"]
    with pytest.raises(symmetric.DecryptionError):
        symmetric.decrypt((NEW_SECRET,), stored)
    public = json.loads(row["publicKey"])
    assert "d" not in public


async def test_unencrypted_storage_when_asked(make_app: Callable[..., Any], tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    plain: TestApp = await make_app(db_url=url, jwt=JwtSettings(enabled=True, encrypt_private_keys=False))
    signed = await session_token(plain)
    token = await get_token(plain)
    (row,) = await plain.auth.store.select("jwks")
    jwk = json.loads(row["privateKey"])
    assert isinstance(jwk, dict) and jwk["kty"] == "OKP" and "d" in jwk
    # An app that encrypts reads (and keeps using) the plain key all the same.
    encrypting: TestApp = await make_app(db_url=url, jwt=ON)
    assert await service(encrypting).verify(encrypting.ctx, token) is not None
    again = await get_token(encrypting, bearer(signed))
    assert header_of(again)["kid"] == header_of(token)["kid"]
    assert len(await kids(encrypting)) == 1


async def test_keys_survive_a_secret_rotation(make_app: Callable[..., Any], tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'rotated.db'}"
    before: TestApp = await make_app(db_url=url, jwt=ON)
    await session_token(before)
    token = await get_token(before)
    kid = header_of(token)["kid"]
    after: TestApp = await make_app(db_url=url, jwt=ON, secret=NEW_SECRET, previous_secrets=(SECRET,))
    assert await service(after).verify(after.ctx, token) is not None
    r = await after.sign_in("ann@example.com")
    assert r.status_code == 200, r.text
    again = await get_token(after)
    assert header_of(again)["kid"] == kid  # the same key signs: it opened with the old secret
    assert await kids(after) == [kid]
    # A key made from now on is sealed with the new secret only.
    made, _ = await service(after).keys.rotate(reason="test")
    (row,) = [r for r in await after.auth.store.select("jwks") if r["id"] == made.id]
    assert json.loads(symmetric.decrypt((NEW_SECRET,), json.loads(row["privateKey"])))["d"]
    with pytest.raises(symmetric.DecryptionError):
        symmetric.decrypt((SECRET,), json.loads(row["privateKey"]))


async def test_a_key_no_secret_opens_is_replaced_without_a_500(
    make_app: Callable[..., Any], tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'lost.db'}"
    before: TestApp = await make_app(db_url=url, jwt=ON)
    await session_token(before)
    token = await get_token(before)
    kid = header_of(token)["kid"]
    (stored,) = await before.auth.store.select("jwks")
    lost: TestApp = await make_app(db_url=url, jwt=ON, secret=NEW_SECRET)
    r = await lost.sign_in("ann@example.com")
    assert r.status_code == 200
    for _ in range(3):
        r = await lost.get("/token")
        assert r.status_code == 200, r.text
        assert header_of(r.json()["token"])["kid"] != kid
        r = await lost.get("/get-session")
        assert r.status_code == 200 and header_of(r.headers["set-auth-jwt"])["kid"] != kid
    assert len(await kids(lost)) == 2
    # The log names the key, never its material or a secret.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "authkeeper.jwt")
    assert kid in logged
    for material in (json.loads(stored["privateKey"])[:32], json.loads(stored["publicKey"])["x"], SECRET, NEW_SECRET):
        assert material not in logged
    # Its public half still verifies what it signed; the JWKS still lists it.
    assert await service(lost).verify(lost.ctx, token) is not None
    assert kid in await published_kids(lost)
    # A second worker with the new secret uses the new key, without making a third.
    third: TestApp = await make_app(db_url=url, jwt=ON, secret=NEW_SECRET)
    assert (await third.sign_in("ann@example.com")).status_code == 200
    assert header_of(await get_token(third))["kid"] != kid
    assert len(await kids(third)) == 2


async def test_several_keys_no_secret_opens_are_skipped_without_a_500(
    make_app: Callable[..., Any], tmp_path: Any
) -> None:
    url = f"sqlite:///{tmp_path / 'lost-many.db'}"
    before: TestApp = await make_app(db_url=url, jwt=ON)
    clock = freeze(before)
    await session_token(before)
    await get_token(before)
    for _ in range(3):
        clock.advance(400)
        await service(before).keys.rotate(reason="test")
    assert len(await kids(before)) == 4
    old = await kids(before)
    lost: TestApp = await make_app(db_url=url, jwt=ON, secret=NEW_SECRET)
    freeze(lost, clock=clock)
    assert (await lost.sign_in("ann@example.com")).status_code == 200
    r = await lost.get("/token")
    assert r.status_code == 200, r.text
    assert header_of(r.json()["token"])["kid"] not in old


@pytest.mark.parametrize(
    "row",
    [
        {"publicKey": "not json", "privateKey": "not json"},
        {"publicKey": "[]", "privateKey": '"00"'},
        {"publicKey": '{"kty": "OKP"}', "privateKey": '{"kty": "OKP"}'},
        {"publicKey": '{"kty": "OKP", "crv": "Ed25519", "x": "!!"}', "privateKey": json.dumps("zz" * 40)},
        {"publicKey": "{}", "privateKey": "42", "alg": "HS256"},
        {"publicKey": "{}", "privateKey": "null", "alg": "none"},
    ],
)
async def test_unusable_rows_are_skipped_without_a_500(make_app: Callable[..., Any], row: dict[str, Any]) -> None:
    app: TestApp = await make_app(jwt=ON)
    clock = freeze(app)
    signed = await session_token(app)
    await app.auth.store.insert(
        "jwks",
        {"id": "broken-key", "createdAt": clock() - timedelta(days=1), "alg": None, "crv": None, **row},
    )
    await service(app).keys.rows(fresh=True)
    r = await app.get("/jwks")
    assert r.status_code == 200, r.text
    r = await app.get("/token", headers=bearer(signed))
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    assert header_of(token)["kid"] != "broken-key"
    assert verify_with_jwks(token, await jwks(app))["sub"]
    # A token naming the broken key is refused, not an error.
    forged = pyjwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256", headers={"kid": "broken-key"})
    assert await service(app).verify(app.ctx, forged) is None
    for entry in await jwks(app):
        assert "d" not in entry


@pytest.mark.parametrize(
    "row",
    [
        {"publicKey": '{"kty": "OKP"}', "alg": None},
        {"publicKey": '{"kty": "OKP", "crv": "Ed25519", "x": "!!"}', "alg": None},
        {"publicKey": "{}", "alg": "HS256"},
    ],
)
async def test_a_public_key_that_does_not_load_is_left_out_of_the_jwks(
    make_app: Callable[..., Any], row: dict[str, Any]
) -> None:
    app: TestApp = await make_app(jwt=ON)
    clock = freeze(app)
    await jwks(app)
    await app.auth.store.insert(
        "jwks", {"id": "broken-key", "privateKey": "{}", "createdAt": clock() - timedelta(days=1), "crv": None, **row}
    )
    await service(app).keys.rows(fresh=True)
    published = await jwks(app)
    assert "broken-key" not in [k["kid"] for k in published], published
    for entry in published:
        pyjwt.PyJWK(entry)  # every entry loads, as a verifier will try


@pytest.mark.parametrize("alg", ["RS256", "oct"])
async def test_a_private_jwk_in_the_public_column_is_never_published(make_app: Callable[..., Any], alg: str) -> None:
    """A row written wrongly (the private JWK in ``publicKey``: a hand-made migration, an
    operator's mistake): the JWKS must carry public members only, whatever the column holds."""
    app: TestApp = await make_app(jwt=ON)
    clock = freeze(app)
    if alg == "RS256":
        from cryptography.hazmat.primitives.asymmetric import rsa
        from jwt.algorithms import RSAAlgorithm

        private_jwk = RSAAlgorithm.to_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        row_alg: str | None = "RS256"
    else:
        private_jwk = json.dumps({"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"})
        row_alg = None
    await jwks(app)
    await app.auth.store.insert(
        "jwks",
        {
            "id": "wrong-row",
            "publicKey": private_jwk,
            "privateKey": json.dumps(symmetric.encrypt(SECRET, private_jwk)),
            "createdAt": clock() - timedelta(hours=1),
            "alg": row_alg,
            "crv": None,
        },
    )
    await service(app).keys.rows(fresh=True)
    r = await app.get("/jwks")
    assert r.status_code == 200
    for entry in r.json()["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi", "oth", "k"} & set(entry), entry


async def test_another_workers_new_key_verifies_here_at_once(
    make_app: Callable[..., Any], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another worker's new key: its tokens verify here at once (an unknown kid reloads the
    rows, at most every UNKNOWN_KID_RELOAD seconds), the JWKS shows it once the cache ends."""
    url = f"sqlite:///{tmp_path / 'reload.db'}"
    one: TestApp = await make_app(db_url=url, jwt=ON)
    two: TestApp = await make_app(db_url=url, jwt=ON)
    await session_token(one)
    await jwks(one)
    await jwks(two)
    made, _ = await service(one).keys.rotate(reason="test", retire_now=True)
    token = await get_token(one)
    assert header_of(token)["kid"] == made.id
    assert made.id not in await published_kids(two)  # two's rows are cached (RELOAD_EVERY)
    assert await service(two).verify(two.ctx, token) is not None
    # A second new key within the throttle: not looked up again (forged kids cannot flood) ...
    later, _ = await service(one).keys.rotate(reason="test", retire_now=True)
    token = await get_token(one)
    assert header_of(token)["kid"] == later.id
    assert await service(two).verify(two.ctx, token) is None
    # ... until the cache ends.
    monkeypatch.setattr(keyring_module, "RELOAD_EVERY", 0.0)
    assert await service(two).verify(two.ctx, token) is not None
    assert {made.id, later.id} <= set(await published_kids(two))
