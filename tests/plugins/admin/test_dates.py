"""Dates out of range in the admin API (Hardening II, item 7): a date that cannot be
represented in UTC is a 400 ``VALIDATION_ERROR`` naming the parameter, never a 500; extreme
but valid dates (year 1 and year 9999 UTC) are stored and read back on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.plugins.admin.helpers import World

pytestmark = pytest.mark.anyio

# Each parses as ISO 8601 but lies outside what a UTC datetime can hold, or is not a date at all.
OUT_OF_RANGE = [
    "9999-12-31T23:59:59-23:59",
    "9999-12-31T23:59:59-00:01",
    "0001-01-01T00:00:00+23:59",
    "0001-01-01T00:00:00+00:01",
    "+275760-09-13T00:00:00.000Z",
    "10000-01-01T00:00:00Z",
    "99999999999999999999-01-01",
    "0000-01-01T00:00:00Z",
]
EXTREME = [
    ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
    ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"),
    ("9999-12-31T23:59:59+05:00", "9999-12-31T18:59:59.000Z"),
]


def bad(r: Any, where: str) -> None:
    assert (r.status_code, r.json()["code"]) == (400, "VALIDATION_ERROR"), (where, r.text)
    assert r.json()["message"].startswith(f"[{where}]"), r.json()


@pytest.mark.parametrize("value", OUT_OF_RANGE)
async def test_audit_events_since_and_until_out_of_range_are_400(world: World, value: str) -> None:
    for name in ("since", "until"):
        bad(await world.admin.get("/admin/audit-events", {name: value}), f"query.{name}")


@pytest.mark.parametrize("value", OUT_OF_RANGE)
async def test_list_users_date_filters_out_of_range_are_400(world: World, value: str) -> None:
    for operator in ("eq", "lt", "gte"):
        r = await world.admin.get(
            "/admin/list-users", {"filterField": "createdAt", "filterOperator": operator, "filterValue": value}
        )
        bad(r, "query.filterValue")
    r = await world.admin.get(
        "/admin/list-users",
        {"filterField": "banExpires", "filterOperator": "in", "filterValue": f"2030-01-01T00:00:00Z,{value}"},
    )
    bad(r, "query.filterValue")


@pytest.mark.parametrize("value", OUT_OF_RANGE)
async def test_ban_expires_out_of_range_is_400_on_update_and_create_user(world: World, value: str) -> None:
    r = await world.admin.post(
        "/admin/update-user", {"userId": world.plain_user.id, "data": {"banned": True, "banExpires": value}}
    )
    bad(r, "body.data.banExpires")
    user = await world.ctx.store.find_user_by_id(world.plain_user.id)
    assert user is not None and user.extra.get("banned") is False
    r = await world.admin.post(
        "/admin/create-user", {"email": "new@example.com", "name": "New", "data": {"banned": True, "banExpires": value}}
    )
    bad(r, "body.data.banExpires")
    assert await world.ctx.store.find_user_by_email("new@example.com") is None


async def test_extreme_valid_dates_are_stored_and_read_back(db_url: str, make_world: Callable[..., Any]) -> None:
    world: World = await make_world(db_url=db_url)
    for i, (value, shown) in enumerate(EXTREME):
        r = await world.admin.post(
            "/admin/update-user", {"userId": world.plain_user.id, "data": {"banned": True, "banExpires": value}}
        )
        assert r.status_code == 200, (value, r.text)
        assert r.json()["banExpires"] == shown
        r = await world.admin.post(
            "/admin/create-user",
            {"email": f"new{i}@example.com", "name": "New", "data": {"banned": True, "banExpires": value}},
        )
        assert r.status_code == 200, (value, r.text)
        assert r.json()["user"]["banExpires"] == shown
        r = await world.admin.get("/admin/list-users", {"filterField": "banExpires", "filterValue": value})
        assert r.status_code == 200 and r.json()["total"] == 2, (value, r.text)
        for name in ("since", "until"):
            r = await world.admin.get("/admin/audit-events", {name: value})
            assert r.status_code == 200, (name, value, r.text)
    # A ban until 9999 keeps the user out; a ban that ended in year 1 is lifted on sign-in.
    r = await world.admin.post(
        "/admin/update-user",
        {"userId": world.plain_user.id, "data": {"banned": True, "banExpires": "9999-12-31T23:59:59Z"}},
    )
    assert r.status_code == 200, r.text
    r = await world.anonymous().post("/sign-in/email", {"email": "ann@example.com", "password": "a fine passphrase"})
    assert (r.status_code, r.json()["code"]) == (403, "BANNED_USER"), r.text
    r = await world.admin.post(
        "/admin/update-user",
        {"userId": world.plain_user.id, "data": {"banned": True, "banExpires": "0001-01-01T00:00:00Z"}},
    )
    assert r.status_code == 200, r.text
    r = await world.anonymous().post("/sign-in/email", {"email": "ann@example.com", "password": "a fine passphrase"})
    assert r.status_code == 200, r.text
