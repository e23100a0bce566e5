"""``GET /admin/list-users`` on SQLite and PostgreSQL: search, filters, sorting,
pagination and the total; LIKE wildcards in the input are plain characters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.plugins.admin.helpers import World

pytestmark = pytest.mark.anyio

PEOPLE = [
    ("zoe@example.com", "Zoe Zimmer", "user"),
    ("yann@example.org", "Yann 100% Real", "moderator"),
    ("xavier_x@example.com", "Xavier", "user"),
    ("xavierax@example.com", "Xavier A", "user"),
    ("wendy@corp.example", "Wendy", "user,moderator"),
]


@pytest.fixture
async def crowd(db_url: str, make_world: Callable[..., Any]) -> World:
    world: World = await make_world(db_url=db_url)
    for email, name, role in PEOPLE:
        await world.make_user(email, role, name=name)
    return world


async def emails(world: World, **params: Any) -> tuple[list[str], int]:
    r = await world.admin.get("/admin/list-users", params)
    assert r.status_code == 200, r.text
    return [u["email"] for u in r.json()["users"]], r.json()["total"]


async def test_search_by_email_and_name(crowd: World) -> None:
    found, total = await emails(crowd, searchValue="EXAMPLE.COM", sortBy="email")
    assert total == 6 and "yann@example.org" not in found and "wendy@corp.example" not in found
    found, total = await emails(crowd, searchValue="xavier", searchField="name", sortBy="email")
    assert (found, total) == (["xavier_x@example.com", "xavierax@example.com"], 2)
    found, _ = await emails(crowd, searchValue="w", searchOperator="starts_with")
    assert found == ["wendy@corp.example"]
    found, _ = await emails(crowd, searchValue=".org", searchOperator="ends_with")
    assert found == ["yann@example.org"]


async def test_like_wildcards_are_literal(crowd: World) -> None:
    # "_" would match any character (xavierax) and "%" anything, were they not escaped.
    assert await emails(crowd, searchValue="xavier_x") == (["xavier_x@example.com"], 1)
    assert await emails(crowd, searchValue="%") == ([], 0)
    assert await emails(crowd, searchValue="100%", searchField="name") == (["yann@example.org"], 1)
    assert await emails(crowd, searchValue="_", searchField="name") == ([], 0)
    assert await emails(crowd, searchValue="\\") == ([], 0)


async def test_filters(crowd: World) -> None:
    found, total = await emails(crowd, filterField="role", filterValue="moderator", sortBy="email")
    assert (found, total) == (["mod@example.com", "yann@example.org"], 2)
    found, _ = await emails(
        crowd, filterField="role", filterValue="moderator", filterOperator="contains", sortBy="email"
    )
    assert found == ["mod@example.com", "wendy@corp.example", "yann@example.org"]
    await crowd.admin.post(
        "/admin/ban-user", {"userId": (await crowd.ctx.store.find_user_by_email("zoe@example.com")).id}
    )
    assert await emails(crowd, filterField="banned", filterValue="true") == (["zoe@example.com"], 1)
    _, total = await emails(crowd, filterField="banned", filterValue="false")
    assert total == 7
    found, total = await emails(crowd, filterField="role", filterOperator="in", filterValue=["admin", "moderator"])
    assert total == 3 and set(found) == {"admin@example.com", "mod@example.com", "yann@example.org"}
    found, total = await emails(crowd, filterField="role", filterOperator="in", filterValue="admin,moderator")
    assert total == 3
    found, total = await emails(crowd, filterField="role", filterOperator="ne", filterValue="user")
    assert total == 4
    found, total = await emails(crowd, filterField="createdAt", filterOperator="lt", filterValue="2000-01-01T00:00:00Z")
    assert (found, total) == ([], 0)
    _, total = await emails(crowd, filterField="createdAt", filterOperator="gte", filterValue="2000-01-01T00:00:00Z")
    assert total == 8
    # Search and filter together; the total counts the matches, not the page.
    found, total = await emails(crowd, searchValue="example.com", filterField="role", filterValue="user", limit=1)
    assert len(found) == 1 and total == 4


async def test_sort_and_paginate(crowd: World) -> None:
    everyone, total = await emails(crowd, sortBy="email")
    assert total == 8 and everyone == sorted(everyone)
    backwards, _ = await emails(crowd, sortBy="email", sortDirection="desc")
    assert backwards == everyone[::-1]
    pages = []
    for offset in range(0, 8, 3):
        r = await crowd.admin.get("/admin/list-users", {"sortBy": "email", "limit": 3, "offset": offset})
        body = r.json()
        assert body["total"] == 8 and body["limit"] == 3
        assert ("offset" in body) == (offset > 0)
        pages += [u["email"] for u in body["users"]]
    assert pages == everyone
    by_name, _ = await emails(crowd, sortBy="name")
    assert by_name[0] == "admin@example.com" and by_name[-1] == "zoe@example.com"
    # Default order: oldest first.
    assert (await emails(crowd))[0][:3] == ["admin@example.com", "mod@example.com", "ann@example.com"]


async def test_bad_parameters_are_named(crowd: World) -> None:
    cases = {
        "searchField": {"searchValue": "x", "searchField": "password"},
        "searchOperator": {"searchValue": "x", "searchOperator": "regex"},
        "sortBy": {"sortBy": "password"},
        "sortDirection": {"sortBy": "email", "sortDirection": "sideways"},
        "filterField": {"filterField": "nope", "filterValue": "x"},
        "filterOperator": {"filterField": "email", "filterValue": "x", "filterOperator": "like"},
        "filterValue": {"filterField": "banned", "filterValue": "maybe"},
        "filterOperator ": {"filterField": "banned", "filterValue": "true", "filterOperator": "lt"},
        "filterOperator  ": {"filterField": "createdAt", "filterValue": "2020", "filterOperator": "contains"},
        "limit": {"limit": "ten"},
        "offset": {"offset": "-1"},
    }
    for name, params in cases.items():
        r = await crowd.admin.get("/admin/list-users", params)
        assert (r.status_code, r.json()["code"]) == (400, "VALIDATION_ERROR"), (name, r.text)
        assert f"[query.{name.strip()}]" in r.json()["message"]


async def test_limit_is_capped(crowd: World) -> None:
    r = await crowd.admin.get("/admin/list-users", {"limit": 100000})
    assert r.status_code == 200 and r.json()["limit"] == 1000 and r.json()["total"] == 8


async def test_an_offset_past_any_database_is_a_validation_error(world: World) -> None:
    for path in ("/admin/list-users", "/admin/audit-events"):
        r = await world.admin.get(path, {"offset": "100000000000000000000"})
        assert (r.status_code, r.json()["code"]) == (400, "VALIDATION_ERROR"), (path, r.text)
        assert r.json()["message"].startswith("[query.offset] ")
