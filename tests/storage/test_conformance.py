"""One behaviour, every backend: the Store contract, run on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from authkeeper.core.crypto.random import generate_id
from authkeeper.core.models import Account, Session, User, utcnow
from authkeeper.storage import DuplicateError, SqlStore, create_store
from authkeeper.storage.migrate import migrate
from tests.conftest import fast_settings

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqlStore]:
    settings = fast_settings(db_url)
    await migrate(settings)
    await migrate(settings)  # idempotent
    s = create_store(settings.database)
    yield s
    await s.close()


def make_user(email: str = "a@example.com") -> User:
    now = utcnow()
    return User(id=generate_id(), name="A", email=email, email_verified=False, image=None,
                created_at=now, updated_at=now, extra={"role": "user", "banned": False})


def make_session(user: User, *, expires_in: int = 3600) -> Session:
    now = utcnow()
    return Session(id=generate_id(), token=generate_id(), user_id=user.id,
                   expires_at=now + timedelta(seconds=expires_in), created_at=now, updated_at=now,
                   ip_address="127.0.0.1", user_agent="test")


def credential(user: User, password: str = "hash") -> Account:
    now = utcnow()
    return Account(id=generate_id(), account_id=user.id, provider_id="credential", user_id=user.id,
                   created_at=now, updated_at=now, password=password)


async def test_users_round_trip_with_aware_dates(store: SqlStore) -> None:
    user = make_user()
    await store.create_user(user, credential(user))
    found = await store.find_user_by_email("a@example.com")
    assert found is not None and found.id == user.id
    assert found.created_at.tzinfo is not None
    assert abs((found.created_at - user.created_at).total_seconds()) < 0.001
    assert (await store.find_user_by_id(user.id)) is not None
    updated = await store.update_user(user.id, {"name": "B", "emailVerified": True})
    assert updated is not None and updated.name == "B" and updated.email_verified is True
    assert await store.count_users() == 1
    assert [u.id for u in await store.list_users()] == [user.id]


async def test_update_user_compare_and_set(store: SqlStore) -> None:
    user = make_user()
    await store.create_user(user)
    when = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert await store.update_user(user.id, {"banned": True, "banExpires": when}) is not None
    # Only while every expected column still holds the value seen.
    assert await store.update_user(user.id, {"banned": False}, expected={"banned": True, "banExpires": when + timedelta(seconds=1)}) is None
    assert await store.update_user(user.id, {"banned": False}, expected={"banReason": "x"}) is None
    updated = await store.update_user(user.id, {"banned": False, "banExpires": None}, expected={"banned": True, "banExpires": when})
    assert updated is not None and updated.extra["banned"] is False
    assert await store.update_user(user.id, {"banned": True}, expected={"banExpires": None}) is not None
    assert await store.update_user("nobody", {"banned": True}) is None


async def test_unique_email(store: SqlStore) -> None:
    await store.create_user(make_user())
    with pytest.raises(DuplicateError):
        await store.create_user(make_user())
    other = make_user("b@example.com")
    await store.create_user(other)
    with pytest.raises(DuplicateError):
        await store.update_user(other.id, {"email": "a@example.com"})


async def test_failed_create_leaves_nothing(store: SqlStore) -> None:
    user = make_user()
    bad_account = credential(user)
    bad_account.user_id = "missing"  # foreign key violation: the user insert must roll back too
    with pytest.raises(DuplicateError):
        await store.create_user(user, bad_account)
    assert await store.find_user_by_email(user.email) is None


async def test_sessions(store: SqlStore) -> None:
    user = make_user()
    await store.create_user(user)
    s1, s2 = make_session(user), make_session(user)
    expired = make_session(user, expires_in=-10)
    for s in (s1, s2, expired):
        await store.create_session(s)
    found = await store.find_session(s1.token)
    assert found is not None and found[0].id == s1.id and found[1].id == user.id
    assert {s.id for s in await store.list_sessions(user.id, utcnow())} == {s1.id, s2.id}
    await store.update_session(s1.token, {"expiresAt": utcnow() + timedelta(days=2)})
    assert (await store.delete_user_sessions(user.id, keep_token=s1.token)) == 2
    assert await store.find_session(s2.token) is None
    assert not await store.delete_session(s1.token, user_id="someone-else")
    assert await store.delete_session_by_id(s1.id, user.id)
    assert await store.find_session(s1.token) is None


async def test_delete_user_removes_sessions_and_accounts(store: SqlStore) -> None:
    user = make_user()
    await store.create_user(user, credential(user))
    session = make_session(user)
    await store.create_session(session)
    assert await store.delete_user(user.id)
    assert await store.find_session(session.token) is None
    assert await store.list_accounts(user.id) == []


async def test_verification_consumed_once_under_concurrency(store: SqlStore) -> None:
    now = utcnow()
    await store.create_verification("reset-password:abc", "user-1", now + timedelta(minutes=5))
    assert (await store.find_verification("reset-password:abc", now)) is not None
    results = await asyncio.gather(*[store.consume_verification("reset-password:abc", utcnow()) for _ in range(10)])
    assert sum(r is not None for r in results) == 1
    assert await store.find_verification("reset-password:abc", utcnow()) is None


async def test_expired_verification_is_not_returned(store: SqlStore) -> None:
    now = utcnow()
    await store.create_verification("x", "v", now - timedelta(seconds=1))
    assert await store.find_verification("x", now) is None
    assert await store.consume_verification("x", now) is None


async def test_delete_verifications_by_prefix_escapes_wildcards(store: SqlStore) -> None:
    later = utcnow() + timedelta(minutes=5)
    await store.create_verification("reset-password:a", "u1", later)
    await store.create_verification("reset-password:b", "u2", later)
    await store.create_verification("reset_password:c", "u1", later)
    assert await store.delete_verifications(prefix="reset-password:", value="u1") == 1
    assert await store.delete_verifications(prefix="reset%") == 0
    assert await store.find_verification("reset_password:c", utcnow()) is not None


async def test_failure_counter_is_atomic_and_windowed(store: SqlStore) -> None:
    now = utcnow()
    counts = await asyncio.gather(*[store.record_failure("k", now, 60) for _ in range(15)])
    assert sorted(c for c, _ in counts) == list(range(1, 16))
    later = now + timedelta(seconds=61)
    count, start = await store.record_failure("k", later, 60)
    assert count == 1 and abs((start - later).total_seconds()) < 0.001
    await store.clear_failures("k")
    assert await store.get_failures("k") is None


async def test_cleanup_removes_only_expired(store: SqlStore) -> None:
    user = make_user()
    await store.create_user(user)
    live, dead = make_session(user), make_session(user, expires_in=-5)
    await store.create_session(live)
    await store.create_session(dead)
    await store.create_verification("old", "v", utcnow() - timedelta(seconds=5))
    await store.create_verification("new", "v", utcnow() + timedelta(seconds=60))
    removed = await store.cleanup(utcnow())
    assert removed["sessions"] == 1 and removed["verifications"] == 1
    assert await store.find_session(live.token) is not None


async def test_transaction_rolls_back(store: SqlStore) -> None:
    user = make_user()
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.create_user(user)
            raise RuntimeError("boom")
    assert await store.find_user_by_email(user.email) is None
