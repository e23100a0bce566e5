"""The verifications, counters and audit-log ports, on every backend, with the races they
must win: one consumer per row, one swap per expected value, every failure counted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from authkeeper.core.models import AuditEvent, utcnow
from authkeeper.core.ports import AuditQuery, Store

pytestmark = pytest.mark.anyio


async def test_verification_consumed_once_under_concurrency(store: Store) -> None:
    now = utcnow()
    await store.create_verification("reset-password:abc", "user-1", now + timedelta(minutes=5))
    assert (await store.find_verification("reset-password:abc", now)) is not None
    results = await asyncio.gather(*[store.consume_verification("reset-password:abc", utcnow()) for _ in range(10)])
    assert sum(r is not None for r in results) == 1
    assert await store.find_verification("reset-password:abc", utcnow()) is None


async def test_fifty_concurrent_consumers_of_one_verification(store: Store) -> None:
    await store.create_verification("link:one", "user-1", utcnow() + timedelta(minutes=5))

    async def consume(n: int) -> str | None:
        if n % 2:  # half of them inside a transaction of their own, as the flows do
            async with store.transaction() as tx:
                row = await tx.consume_verification("link:one", utcnow())
        else:
            row = await store.consume_verification("link:one", utcnow())
        return row.value if row else None

    results = await asyncio.gather(*[consume(n) for n in range(50)])
    assert [r for r in results if r is not None] == ["user-1"]


async def test_consume_returns_the_newest_live_row(store: Store) -> None:
    now = utcnow()
    await store.create_verification("k", "first", now + timedelta(minutes=5))
    await asyncio.sleep(0.002)
    await store.create_verification("k", "second", now + timedelta(minutes=5))
    assert (await store.find_verification("k", utcnow())).value == "second"  # type: ignore[union-attr]
    assert (await store.consume_verification("k", utcnow())).value == "second"  # type: ignore[union-attr]
    assert await store.find_verification("k", utcnow()) is None  # every row of the identifier went


async def test_expired_verification_is_not_returned(store: Store) -> None:
    now = utcnow()
    await store.create_verification("x", "v", now - timedelta(seconds=1))
    assert await store.find_verification("x", now) is None
    assert await store.consume_verification("x", now) is None


async def test_delete_verifications_by_prefix_escapes_wildcards(store: Store) -> None:
    later = utcnow() + timedelta(minutes=5)
    await store.create_verification("reset-password:a", "u1", later)
    await store.create_verification("reset-password:b", "u2", later)
    await store.create_verification("reset_password:c", "u1", later)
    assert await store.delete_verifications(prefix="reset-password:", value="u1") == 1
    assert await store.delete_verifications(prefix="reset%") == 0
    assert await store.find_verification("reset_password:c", utcnow()) is not None


async def test_swap_verification_value_compare_and_set(store: Store) -> None:
    await store.create_verification("attempts", "0", utcnow() + timedelta(minutes=5))
    assert not await store.swap_verification_value("attempts", "1", "2")
    results = await asyncio.gather(*[store.swap_verification_value("attempts", "0", "1") for _ in range(20)])
    assert results.count(True) == 1
    assert (await store.find_verification("attempts", utcnow())).value == "1"  # type: ignore[union-attr]


async def test_failure_counter_is_atomic_and_windowed(store: Store) -> None:
    now = utcnow()
    counts = await asyncio.gather(*[store.record_failure("k", now, 60) for _ in range(15)])
    assert sorted(c for c, _ in counts) == list(range(1, 16))
    later = now + timedelta(seconds=61)
    count, start = await store.record_failure("k", later, 60)
    assert count == 1 and abs((start - later).total_seconds()) < 0.001
    found = await store.get_failures("k")
    assert found is not None and found[0] == 1
    await store.clear_failures("k")
    assert await store.get_failures("k") is None


def _event(n: int, name: str, user_id: str | None, actor_id: str | None = None) -> AuditEvent:
    return AuditEvent(
        id=f"e{n:02d}",
        created_at=datetime(2030, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
        event=name,
        actor_id=actor_id or user_id,
        user_id=user_id,
        ip_address="127.0.0.1",
        user_agent="test",
        details={"n": n},
    )


async def test_audit_log(store: Store) -> None:
    for n, (name, user, actor) in enumerate(
        [
            ("sign-up", "u1", None),
            ("sign-in", "u1", None),
            ("user-banned", "u2", "u1"),
            ("sign-in", "u2", None),
        ]
    ):
        await store.add_audit(_event(n, name, user, actor))
    found, total = await store.list_audit(AuditQuery())
    assert [e.id for e in found] == ["e03", "e02", "e01", "e00"] and total == 4  # newest first
    assert found[0].details == {"n": 3} and found[0].created_at.tzinfo is not None
    found, total = await store.list_audit(AuditQuery(user_id="u1"))
    assert [e.id for e in found] == ["e02", "e01", "e00"]  # about them or by them
    found, _ = await store.list_audit(AuditQuery(events=("sign-in",), limit=1, offset=1))
    assert [e.id for e in found] == ["e01"]
    since = datetime(2030, 1, 1, 0, 1, tzinfo=UTC)
    found, total = await store.list_audit(AuditQuery(since=since, until=since + timedelta(minutes=2)))
    assert [e.id for e in found] == ["e02", "e01"] and total == 2
    assert await store.prune_audit(since) == 1
    assert (await store.list_audit(AuditQuery()))[1] == 3
