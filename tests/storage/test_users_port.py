"""The users and accounts ports, on every backend: round trips, typed compare-and-set
updates, uniqueness, cascades, the user search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from authkeeper.core.changes import UserUpdate
from authkeeper.core.crypto.random import generate_id
from authkeeper.core.ports import (
    DuplicateError,
    Listed,
    Store,
    UnknownFieldError,
    UserQuery,
)
from authkeeper.plugins.two_factor.store import TwoFactorRecord, plugin_store
from tests.storage.conftest import credential, make_session, make_user

pytestmark = pytest.mark.anyio


async def test_users_round_trip_with_aware_dates(store: Store) -> None:
    user = make_user()
    await store.create_user(user, credential(user))
    found = await store.find_user_by_email("a@example.com")
    assert found is not None and found.id == user.id
    assert found.created_at.tzinfo is not None
    assert abs((found.created_at - user.created_at).total_seconds()) < 0.001
    assert (await store.find_user_by_id(user.id)) is not None
    updated = await store.update_user(user.id, UserUpdate(name="B", email_verified=True))
    assert updated is not None and updated.name == "B" and updated.email_verified is True
    assert await store.count_users() == 1
    assert [u.id for u in await store.list_users()] == [user.id]


async def test_plugin_fields_read_back_and_flags_read_false(store: Store) -> None:
    user = make_user(banned=None)
    await store.create_user(user)
    found = await store.find_user_by_id(user.id)
    assert found is not None
    # Every column of the merged schema is there; a plugin's flag left empty reads false.
    assert found.extra["banned"] is False and found.extra["twoFactorEnabled"] is False
    assert found.extra["role"] == "user" and found.extra["banReason"] is None


async def test_update_user_compare_and_set(store: Store) -> None:
    user = make_user()
    await store.create_user(user)
    when = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert await store.update_user(user.id, UserUpdate(fields={"banned": True, "banExpires": when})) is not None
    # Only while every expected column still holds the value seen.
    later = UserUpdate(fields={"banned": True, "banExpires": when + timedelta(seconds=1)})
    assert await store.update_user(user.id, UserUpdate(fields={"banned": False}), expected=later) is None
    assert (
        await store.update_user(
            user.id, UserUpdate(fields={"banned": False}), expected=UserUpdate(fields={"banReason": "x"})
        )
        is None
    )
    updated = await store.update_user(
        user.id,
        UserUpdate(fields={"banned": False, "banExpires": None}),
        expected=UserUpdate(fields={"banned": True, "banExpires": when}),
    )
    assert updated is not None and updated.extra["banned"] is False
    assert (
        await store.update_user(
            user.id, UserUpdate(fields={"banned": True}), expected=UserUpdate(fields={"banExpires": None})
        )
        is not None
    )
    assert await store.update_user("nobody", UserUpdate(fields={"banned": True})) is None


async def test_update_user_compare_and_set_on_core_fields(store: Store) -> None:
    user = make_user()
    await store.create_user(user)
    verify = UserUpdate(email_verified=True)
    assert await store.update_user(user.id, verify, expected=UserUpdate(email_verified=False)) is not None
    assert await store.update_user(user.id, verify, expected=UserUpdate(email_verified=False)) is None


async def test_unknown_fields_are_refused(store: Store) -> None:
    user = make_user()
    await store.create_user(user)
    with pytest.raises(UnknownFieldError):
        await store.update_user(user.id, UserUpdate(fields={"nickname": "x"}))
    with pytest.raises(UnknownFieldError):
        await store.create_user(make_user("b@example.com", nickname="x"))
    with pytest.raises(ValueError, match="core field"):
        UserUpdate(fields={"email": "x@example.com"})
    assert UserUpdate.from_columns({"emailVerified": True, "role": "admin"}) == UserUpdate(
        email_verified=True, fields={"role": "admin"}
    )


async def test_unique_email(store: Store) -> None:
    await store.create_user(make_user())
    with pytest.raises(DuplicateError):
        await store.create_user(make_user())
    other = make_user("b@example.com")
    await store.create_user(other)
    with pytest.raises(DuplicateError):
        await store.update_user(other.id, UserUpdate(email="a@example.com"))


async def test_failed_create_leaves_nothing(store: Store) -> None:
    user = make_user()
    bad_account = credential(user)
    bad_account.user_id = "missing"  # foreign key violation: the user insert must roll back too
    with pytest.raises(DuplicateError):
        await store.create_user(user, bad_account)
    assert await store.find_user_by_email(user.email) is None


async def test_delete_user_removes_sessions_accounts_and_plugin_rows(store: Store) -> None:
    user, other = make_user(), make_user("b@example.com")
    await store.create_user(user, credential(user))
    await store.create_user(other, credential(other))
    session = make_session(user)
    await store.create_session(session)
    rows = plugin_store(store)
    for who in (user, other):
        await rows.put_two_factor(TwoFactorRecord(id=generate_id(), user_id=who.id, secret="s", backup_codes="c"))
    assert await store.delete_user(user.id)
    assert await store.find_session(session.token) is None
    assert await store.list_accounts(user.id) == []
    assert await rows.get_two_factor(user.id) is None
    assert await rows.get_two_factor(other.id) is not None and len(await store.list_accounts(other.id)) == 1
    assert not await store.delete_user(user.id)


async def test_accounts(store: Store) -> None:
    user = make_user()
    await store.create_user(user, credential(user))
    found = await store.find_account(user.id, "credential")
    assert found is not None and found.password == "hash"
    await store.update_account_password(found.id, "new-hash")
    assert (await store.find_account(user.id, "credential")).password == "new-hash"  # type: ignore[union-attr]
    assert await store.find_account(user.id, "github") is None
    assert not await store.delete_account("someone-else", found.id)
    assert await store.delete_account(user.id, found.id)
    assert await store.list_accounts(user.id) == []


async def _people(store: Store) -> dict[str, str]:
    base = datetime(2030, 1, 1, tzinfo=UTC)
    ids: dict[str, str] = {}
    for n, (email, name, role, banned) in enumerate(
        [
            ("ann@example.com", "Ann", "admin", False),
            ("bob@example.com", "Bob", None, None),
            ("cat@example.org", "Cat", "moderator, user", True),
            ("dan@example.org", "Dan_", "user", False),
        ]
    ):
        user = make_user(email, role=role, banned=banned)
        user.name, user.created_at = name, base + timedelta(minutes=n)
        await store.create_user(user)
        ids[name] = user.id
    return ids


async def test_search_users(store: Store) -> None:
    ids = await _people(store)

    async def names(**kw: object) -> list[str]:
        found, total = await store.search_users(UserQuery(**kw))  # type: ignore[arg-type]
        assert total >= len(found)
        return [u.name for u in found]

    assert await names() == ["Ann", "Bob", "Cat", "Dan_"]
    assert await names(search_value="EXAMPLE.ORG") == ["Cat", "Dan_"]
    assert await names(search_field="name", search_operator="starts_with", search_value="b") == ["Bob"]
    assert await names(search_field="name", search_value="_") == ["Dan_"]  # LIKE input escaped
    assert await names(filters=(("banned", "eq", False),)) == ["Ann", "Bob", "Dan_"]  # empty reads false
    assert await names(filters=(("banned", "ne", False),)) == ["Cat"]
    assert await names(filters=(("id", "in", (ids["Bob"], ids["Dan_"])),)) == ["Bob", "Dan_"]
    assert await names(filters=(("role", "eq", None),)) == ["Bob"]
    assert await names(filters=(("nickname", "eq", "x"),)) == ["Ann", "Bob", "Cat", "Dan_"]  # unknown: ignored
    assert await names(listed=Listed("role", "user", "user")) == ["Bob", "Cat", "Dan_"]
    assert await names(listed=Listed("role", "moderator")) == ["Cat"]
    assert await names(sort_by="name", sort_direction="desc") == ["Dan_", "Cat", "Bob", "Ann"]
    assert await names(limit=2, offset=1) == ["Bob", "Cat"]
    _, total = await store.search_users(UserQuery(limit=1))
    assert total == 4
