"""The sessions port, on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest

from authkeeper.core.changes import SessionUpdate
from authkeeper.core.models import utcnow
from authkeeper.core.ports import DuplicateError, Store, UnknownFieldError
from tests.storage.conftest import make_session, make_user

pytestmark = pytest.mark.anyio


async def test_sessions(store: Store) -> None:
    user = make_user()
    await store.create_user(user)
    s1, s2 = make_session(user), make_session(user)
    expired = make_session(user, expires_in=-10)
    for s in (s1, s2, expired):
        await store.create_session(s)
    found = await store.find_session(s1.token)
    assert found is not None and found[0].id == s1.id and found[1].id == user.id
    assert {s.id for s in await store.list_sessions(user.id, utcnow())} == {s1.id, s2.id}
    await store.update_session(s1.token, SessionUpdate(expires_at=utcnow() + timedelta(days=2)))
    assert (await store.delete_user_sessions(user.id, keep_token=s1.token)) == 2
    assert await store.find_session(s2.token) is None
    assert not await store.delete_session(s1.token, user_id="someone-else")
    assert await store.delete_session_by_id(s1.id, user.id)
    assert await store.find_session(s1.token) is None


async def test_update_session_moves_the_expiry(store: Store) -> None:
    user = make_user()
    await store.create_user(user)
    session = make_session(user)
    await store.create_session(session)
    later = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    await store.update_session(session.token, SessionUpdate(expires_at=later, updated_at=later))
    found = await store.find_session(session.token)
    assert found is not None and found[0].expires_at == later and found[0].updated_at == later
    with pytest.raises(UnknownFieldError):
        await store.update_session(session.token, SessionUpdate(fields={"nickname": "x"}))


async def test_plugin_session_fields_and_delete_matching(store: Store) -> None:
    admin, user = make_user(), make_user("b@example.com")
    await store.create_user(admin)
    await store.create_user(user)
    own = make_session(user)
    acting = [make_session(user, impersonatedBy=admin.id) for _ in range(2)]
    for s in (own, *acting):
        await store.create_session(s)
    found = await store.find_session(acting[0].token)
    assert found is not None and found[0].extra["impersonatedBy"] == admin.id
    assert (await store.find_session(own.token))[0].extra["impersonatedBy"] is None  # type: ignore[index]
    assert await store.delete_sessions_matching({"impersonatedBy": admin.id}) == 2
    assert [s.id for s in await store.list_sessions(user.id, utcnow())] == [own.id]
    with pytest.raises(UnknownFieldError):
        await store.delete_sessions_matching({"nickname": "x"})


async def test_session_tokens_are_unique_and_need_a_user(store: Store) -> None:
    user = make_user()
    await store.create_user(user)
    session = make_session(user)
    await store.create_session(session)
    twin = make_session(user)
    twin.token = session.token
    with pytest.raises(DuplicateError):
        await store.create_session(twin)
    orphan = make_session(user)
    orphan.user_id = "missing"
    with pytest.raises(DuplicateError):
        await store.create_session(orphan)
    assert len(await store.list_sessions(user.id, utcnow())) == 1


async def test_cleanup_removes_only_expired(store: Store) -> None:
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
