"""The records port (the plugins' own tables: here two-factor's ``twoFactor``) and the unit of
work, on every backend."""

from __future__ import annotations

import asyncio

import pytest

from authkeeper.core.changes import UserUpdate
from authkeeper.core.ports import DuplicateError, Store, UnknownFieldError
from authkeeper.core.queries import any_of, gt, lt, ne
from authkeeper.plugins.two_factor.store import plugin_store
from tests.storage.conftest import credential, make_user

pytestmark = pytest.mark.anyio

TABLE = "twoFactor"


def row(user_id: str, n: int = 1, **values: object) -> dict[str, object]:
    return {"id": f"tf{n}-{user_id}", "userId": user_id, "secret": f"s{n}", "backupCodes": "codes", **values}


async def test_insert_get_select_delete(store: Store) -> None:
    users = [make_user(f"{n}@example.com") for n in range(3)]
    for n, user in enumerate(users):
        await store.create_user(user)
        await store.insert(TABLE, row(user.id, n, lastTotpCounter=10 * n))
    got = await store.get(TABLE, {"userId": users[1].id})
    assert got is not None and got["secret"] == "s1" and got["verified"] is None and got["otpEnabled"] is None
    assert await store.get(TABLE, {"userId": "nobody"}) is None
    found = await store.select(TABLE, {"lastTotpCounter": gt(0)}, order_by="lastTotpCounter", descending=True)
    assert [r["secret"] for r in found] == ["s2", "s1"]
    assert [r["secret"] for r in await store.select(TABLE, order_by="secret", limit=2)] == ["s0", "s1"]
    assert [r["secret"] for r in await store.select(TABLE, {"secret": ne("s1")}, order_by="secret")] == ["s0", "s2"]
    assert await store.delete(TABLE, {"userId": users[0].id}) == 1
    assert await store.delete(TABLE, {"userId": users[0].id}) == 0
    assert len(await store.select(TABLE)) == 2


async def test_keys_and_unknown_names(store: Store) -> None:
    user = make_user()
    await store.create_user(user)
    await store.insert(TABLE, row(user.id))
    with pytest.raises(DuplicateError):
        await store.insert(TABLE, row(user.id))  # the same primary key
    with pytest.raises(DuplicateError):
        await store.insert(TABLE, row("missing", 2))  # no such user
    with pytest.raises(DuplicateError):
        await store.insert(TABLE, {"id": "x", "userId": user.id})  # NOT NULL columns left out
    with pytest.raises(UnknownFieldError):
        await store.insert(TABLE, row(user.id, 3, nickname="x"))
    with pytest.raises(UnknownFieldError):
        await store.select("noSuchTable")
    with pytest.raises(UnknownFieldError):
        await store.get("user", {"id": user.id})  # the core's tables have ports of their own
    assert len(await store.select(TABLE)) == 1


async def test_update_compare_and_set(store: Store) -> None:
    user = make_user()
    await store.create_user(user)
    await store.insert(TABLE, row(user.id))
    where = {"userId": user.id}
    claim = any_of(None, lt(5))  # claim_totp_counter's condition: empty, or an older step
    assert await store.update(TABLE, where, {"lastTotpCounter": 5}, expected={"lastTotpCounter": claim}) == 1
    assert await store.update(TABLE, where, {"lastTotpCounter": 5}, expected={"lastTotpCounter": claim}) == 0
    assert await store.update(TABLE, where, {"verified": True}, expected={"verified": None}) == 1
    assert await store.update(TABLE, where, {"verified": False}, expected={"verified": False}) == 0
    got = await store.get(TABLE, where)
    assert got is not None and got["lastTotpCounter"] == 5 and got["verified"] is True
    with pytest.raises(UnknownFieldError):
        await store.update(TABLE, where, {"nickname": "x"})


async def test_concurrent_compare_and_set_has_one_winner(store: Store) -> None:
    user = make_user()
    await store.create_user(user)
    rows = plugin_store(store)
    await store.insert(TABLE, row(user.id))
    results = await asyncio.gather(*[rows.swap_backup_codes(user.id, "codes", f"new-{n}") for n in range(20)])
    assert results.count(True) == 1
    claims = await asyncio.gather(*[rows.claim_totp_counter(user.id, 7) for _ in range(20)])
    assert claims.count(True) == 1
    assert not await rows.claim_totp_counter(user.id, 6)
    assert await rows.claim_totp_counter(user.id, 8)


async def test_transaction_rolls_back(store: Store) -> None:
    user = make_user()
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.create_user(user)
            raise RuntimeError("boom")
    assert await store.find_user_by_email(user.email) is None


async def test_transaction_is_all_or_nothing_across_ports(store: Store) -> None:
    user = make_user()
    await store.create_user(user, credential(user))
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.update_user(user.id, UserUpdate(name="Renamed"))
            await tx.insert(TABLE, row(user.id))
            await tx.create_verification("v", user.id, user.created_at.replace(year=2100))
            await tx.record_failure("k", user.created_at, 60)
            await tx.delete_user(user.id)
            assert await tx.find_user_by_id(user.id) is None  # the transaction sees its own writes
            raise RuntimeError("boom")
    found = await store.find_user_by_id(user.id)
    assert found is not None and found.name == "A" and len(await store.list_accounts(user.id)) == 1
    assert await store.get(TABLE, {"userId": user.id}) is None
    assert await store.find_verification("v", user.created_at) is None
    assert await store.get_failures("k") is None


async def test_uncommitted_writes_are_not_seen_outside(store: Store) -> None:
    user = make_user()
    async with store.transaction() as tx:
        await tx.create_user(user)
        async with tx.transaction() as same:  # within a transaction: the same one
            assert await same.find_user_by_email(user.email) is not None
        assert await store.find_user_by_email(user.email) is None
        await tx.lock("some-key")
    assert await store.find_user_by_email(user.email) is not None
    with pytest.raises(RuntimeError):
        await store.lock("some-key")  # only in a transaction
