"""Each ``/admin/*`` endpoint's happy path and the shape of its answer (spec §8.2)."""

from __future__ import annotations

import pytest

from tests.plugins.admin.helpers import PASSWORD, World

pytestmark = pytest.mark.anyio

USER_KEYS = {
    "id",
    "name",
    "email",
    "emailVerified",
    "image",
    "createdAt",
    "updatedAt",
    "role",
    "banned",
    "banReason",
    "banExpires",
    "twoFactorEnabled",
}


async def test_create_user(world: World) -> None:
    r = await world.admin.post(
        "/admin/create-user",
        {
            "email": "New@Example.com",
            "password": PASSWORD,
            "name": "New",
            "role": "moderator",
            "data": {"emailVerified": True, "image": "https://example.com/a.png"},
        },
    )
    assert r.status_code == 200, r.text
    user = r.json()["user"]
    assert set(user) >= USER_KEYS
    assert (user["email"], user["name"], user["role"], user["emailVerified"], user["banned"]) == (
        "new@example.com",
        "New",
        "moderator",
        True,
        False,
    )
    assert user["createdAt"].endswith("Z")
    # The new user can sign in with that password.
    await world.sign_in("new@example.com")


async def test_create_user_defaults_and_errors(world: World) -> None:
    r = await world.admin.post("/admin/create-user", {"email": "nopass@example.com", "name": "No Pass"})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["role"] == "user"
    assert await world.ctx.store.find_account(r.json()["user"]["id"], "credential") is None
    r = await world.admin.post("/admin/create-user", {"email": "ANN@example.com", "name": "Dup", "password": PASSWORD})
    assert (r.status_code, r.json()["code"]) == (400, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL")
    r = await world.admin.post("/admin/create-user", {"email": "not-an-email", "name": "X"})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_EMAIL")
    r = await world.admin.post("/admin/create-user", {"email": "r@example.com", "name": "X", "role": "ghost"})
    assert (r.status_code, r.json()["code"]) == (400, "YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE")
    r = await world.admin.post("/admin/create-user", {"email": "r@example.com", "name": "X", "data": {"role": 3}})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_ROLE_TYPE")
    r = await world.admin.post("/admin/create-user", {"email": "r@example.com", "name": "X", "password": "short"})
    assert (r.status_code, r.json()["code"]) == (400, "PASSWORD_TOO_SHORT")
    r = await world.admin.post("/admin/create-user", {"email": "r@example.com"})
    assert (r.status_code, r.json()["code"]) == (400, "VALIDATION_ERROR")
    for field in ("id", "createdAt", "twoFactorEnabled", "password"):
        r = await world.admin.post("/admin/create-user", {"email": "r@example.com", "name": "X", "data": {field: "x"}})
        assert (r.status_code, r.json()["code"]) == (400, "FIELD_NOT_ALLOWED"), field
    assert await world.ctx.store.find_user_by_email("r@example.com") is None


async def test_create_user_with_several_roles_and_a_ban(world: World) -> None:
    r = await world.admin.post(
        "/admin/create-user",
        {
            "email": "multi@example.com",
            "name": "M",
            "password": PASSWORD,
            "role": ["moderator", "user"],
            "data": {"banned": True, "banReason": "spam"},
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["user"]["role"] == "moderator,user"
    assert r.json()["user"]["banned"] is True


async def test_get_user(world: World) -> None:
    r = await world.admin.get("/admin/get-user", {"id": world.plain_user.id})
    assert r.status_code == 200
    assert r.json()["email"] == "ann@example.com" and "user" not in r.json()  # a bare user object
    r = await world.admin.get("/admin/get-user", {"id": "nobody"})
    assert (r.status_code, r.json()["code"]) == (404, "USER_NOT_FOUND")
    r = await world.admin.get("/admin/get-user")
    assert (r.status_code, r.json()["code"]) == (400, "VALIDATION_ERROR")


async def test_list_users_shape(world: World) -> None:
    r = await world.admin.get("/admin/list-users")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"users", "total"}  # limit/offset echoed only when given
    assert body["total"] == 3 and {u["email"] for u in body["users"]} == {
        "admin@example.com",
        "mod@example.com",
        "ann@example.com",
    }
    r = await world.admin.get("/admin/list-users", {"limit": "2", "offset": "1"})
    assert (r.json()["limit"], r.json()["offset"], len(r.json()["users"]), r.json()["total"]) == (2, 1, 2, 3)


async def test_update_user(world: World) -> None:
    r = await world.admin.post(
        "/admin/update-user",
        {
            "userId": world.plain_user.id,
            "data": {"name": "Ann B", "email": "ann.b@example.com", "emailVerified": True},
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["name"], body["email"], body["emailVerified"]) == ("Ann B", "ann.b@example.com", True)
    r = await world.admin.post("/admin/update-user", {"userId": world.plain_user.id, "data": {}})
    assert (r.status_code, r.json()["code"]) == (400, "NO_DATA_TO_UPDATE")
    r = await world.admin.post("/admin/update-user", {"userId": world.plain_user.id, "data": {"password": "x" * 20}})
    assert (r.status_code, r.json()["code"]) == (400, "PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER")
    r = await world.admin.post("/admin/update-user", {"userId": world.plain_user.id, "data": {"id": "mine"}})
    assert (r.status_code, r.json()["code"]) == (400, "USER_ID_CANNOT_BE_UPDATED")
    r = await world.admin.post(
        "/admin/update-user", {"userId": world.plain_user.id, "data": {"email": "mod@example.com"}}
    )
    assert (r.status_code, r.json()["code"]) == (400, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL")
    r = await world.admin.post(
        "/admin/update-user", {"userId": world.plain_user.id, "data": {"twoFactorEnabled": False}}
    )
    assert (r.status_code, r.json()["code"]) == (400, "FIELD_NOT_ALLOWED")
    r = await world.admin.post("/admin/update-user", {"userId": "nobody", "data": {"name": "X"}})
    assert (r.status_code, r.json()["code"]) == (404, "USER_NOT_FOUND")


async def test_update_user_role_and_ban(world: World) -> None:
    r = await world.admin.post("/admin/update-user", {"userId": world.plain_user.id, "data": {"role": ["moderator"]}})
    assert r.status_code == 200 and r.json()["role"] == "moderator"
    r = await world.admin.post("/admin/update-user", {"userId": world.plain_user.id, "data": {"banned": True}})
    assert r.status_code == 200 and r.json()["banned"] is True
    assert (await world.user.session()) is None  # the ban ended her session
    r = await world.admin.post("/admin/update-user", {"userId": world.admin_user.id, "data": {"banned": True}})
    assert (r.status_code, r.json()["code"]) == (400, "YOU_CANNOT_BAN_YOURSELF")


async def test_set_role(world: World) -> None:
    r = await world.admin.post("/admin/set-role", {"userId": world.plain_user.id, "role": "moderator"})
    assert r.status_code == 200
    assert r.json()["user"]["role"] == "moderator"
    r = await world.admin.post("/admin/set-role", {"userId": world.plain_user.id, "role": ["moderator", "user"]})
    assert r.json()["user"]["role"] == "moderator,user"
    r = await world.admin.post("/admin/set-role", {"userId": world.plain_user.id, "role": "superuser"})
    assert (r.status_code, r.json()["code"]) == (400, "YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE")
    r = await world.admin.post("/admin/set-role", {"userId": "missing", "role": "user"})
    assert (r.status_code, r.json()["code"]) == (404, "USER_NOT_FOUND")


async def test_ban_and_unban(world: World) -> None:
    r = await world.admin.post("/admin/ban-user", {"userId": world.plain_user.id, "banExpiresIn": 3600})
    assert r.status_code == 200, r.text
    user = r.json()["user"]
    assert (user["banned"], user["banReason"]) == (True, "No reason")
    assert user["banExpires"].endswith("Z")
    r = await world.admin.post("/admin/unban-user", {"userId": world.plain_user.id})
    assert r.status_code == 200
    user = r.json()["user"]
    assert (user["banned"], user["banReason"], user["banExpires"]) == (False, None, None)
    r = await world.admin.post("/admin/ban-user", {"userId": world.admin_user.id})
    assert (r.status_code, r.json()["code"]) == (400, "YOU_CANNOT_BAN_YOURSELF")
    r = await world.admin.post("/admin/ban-user", {"userId": "missing"})
    assert (r.status_code, r.json()["code"]) == (404, "USER_NOT_FOUND")
    r = await world.admin.post("/admin/ban-user", {"userId": world.plain_user.id, "banExpiresIn": -5})
    assert (r.status_code, r.json()["code"]) == (400, "VALIDATION_ERROR")


async def test_list_and_revoke_user_sessions(world: World) -> None:
    second = await world.sign_in("ann@example.com")
    r = await world.admin.post("/admin/list-user-sessions", {"userId": world.plain_user.id})
    assert r.status_code == 200
    found = r.json()["sessions"]
    assert len(found) == 2 and all(s["userId"] == world.plain_user.id for s in found)
    own = (await world.user.session())["session"]["token"]
    # No admin ever sees another user's session token: a handle stands in for it.
    assert all(s["token"] != own and s["token"].startswith("sid_") for s in found)
    second_id = (await second.session())["session"]["id"]
    handle = next(s["token"] for s in found if s["id"] == second_id)
    r = await world.admin.post("/admin/revoke-user-session", {"sessionToken": handle})
    assert r.json() == {"success": True}
    assert await second.session() is None and await world.user.session() is not None
    # A raw token works too (Better Auth's form).
    r = await world.admin.post("/admin/revoke-user-session", {"sessionToken": own})
    assert r.json() == {"success": True} and await world.user.session() is None
    r = await world.admin.post("/admin/revoke-user-session", {"sessionToken": "nothing-here"})
    assert r.json() == {"success": True}


async def test_revoke_user_sessions(world: World) -> None:
    other = await world.sign_in("ann@example.com")
    r = await world.admin.post("/admin/revoke-user-sessions", {"userId": world.plain_user.id})
    assert r.json() == {"success": True}
    assert await world.user.session() is None and await other.session() is None
    assert await world.admin.session() is not None


async def test_remove_user(world: World) -> None:
    r = await world.admin.post("/admin/remove-user", {"userId": world.plain_user.id})
    assert r.json() == {"success": True}
    assert await world.ctx.store.find_user_by_id(world.plain_user.id) is None
    assert await world.user.session() is None
    r = await world.admin.post("/admin/remove-user", {"userId": world.admin_user.id})
    assert (r.status_code, r.json()["code"]) == (400, "YOU_CANNOT_REMOVE_YOURSELF")
    r = await world.admin.post("/admin/remove-user", {"userId": world.plain_user.id})
    assert (r.status_code, r.json()["code"]) == (404, "USER_NOT_FOUND")


async def test_set_user_password(world: World) -> None:
    r = await world.admin.post(
        "/admin/set-user-password", {"userId": world.plain_user.id, "newPassword": "another fine phrase"}
    )
    assert r.json() == {"status": True}
    anon = world.anonymous()
    assert (await anon.post("/sign-in/email", {"email": "ann@example.com", "password": PASSWORD})).status_code == 401
    assert (
        await anon.post("/sign-in/email", {"email": "ann@example.com", "password": "another fine phrase"})
    ).status_code == 200
    r = await world.admin.post("/admin/set-user-password", {"userId": world.plain_user.id, "newPassword": "password"})
    assert (r.status_code, r.json()["code"]) == (400, "PASSWORD_TOO_COMMON")


async def test_set_user_password_creates_a_credential_account(world: World) -> None:
    r = await world.admin.post("/admin/create-user", {"email": "sso@example.com", "name": "SSO"})
    user_id = r.json()["user"]["id"]
    r = await world.admin.post("/admin/set-user-password", {"userId": user_id, "newPassword": PASSWORD})
    assert r.json() == {"status": True}
    await world.sign_in("sso@example.com")


async def test_has_permission(world: World) -> None:
    r = await world.admin.post("/admin/has-permission", {"permissions": {"user": ["ban", "set-role"]}})
    assert r.json() == {"error": None, "success": True}
    r = await world.admin.post("/admin/has-permission", {"permissions": {"user": ["impersonate-admins"]}})
    assert r.json() == {"error": None, "success": False}
    r = await world.mod.post("/admin/has-permission", {"permissions": {"user": ["ban"], "session": ["revoke"]}})
    assert r.json()["success"] is True
    r = await world.mod.post("/admin/has-permission", {"permissions": {"user": ["ban", "delete"]}})
    assert r.json()["success"] is False
    r = await world.user.post("/admin/has-permission", {"permissions": {"user": ["list"]}})
    assert r.json() == {"error": None, "success": False}
    # Over HTTP the caller's own permissions count, whatever userId/role the body names.
    r = await world.user.post(
        "/admin/has-permission", {"permissions": {"user": ["list"]}, "role": "admin", "userId": world.admin_user.id}
    )
    assert r.json()["success"] is False
    r = await world.user.post("/admin/has-permission", {})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_PERMISSION_CHECK")
    assert r.json()["message"] == "invalid permission check. no permission(s) were passed."
    r = await world.anonymous().post("/admin/has-permission", {"permissions": {"user": ["list"]}})
    assert (r.status_code, r.json()["code"]) == (401, "UNAUTHORIZED")


async def test_additional_fields_and_default_role(make_world) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from authkeeper.core.settings import AdditionalField, UserSettings
    from authkeeper.plugins.admin import AdminSettings

    roles = {**AdminSettings().roles, "member": {}}
    world: World = await make_world(
        user=UserSettings(
            additional_fields=(
                AdditionalField(name="plan", default="free"),
                AdditionalField(name="internal", returned=False),
            )
        ),
        admin=dataclasses.replace(AdminSettings(), roles=roles, default_role="member"),
    )
    r = await world.admin.post("/admin/create-user", {"email": "p@example.com", "name": "P", "data": {"plan": "pro"}})
    assert r.status_code == 200, r.text
    user = r.json()["user"]
    assert (user["plan"], user["role"]) == ("pro", "member") and "internal" not in user
    r = await world.admin.post("/admin/update-user", {"userId": user["id"], "data": {"plan": 3}})
    assert (r.status_code, r.json()["code"]) == (400, "VALIDATION_ERROR")
    r = await world.admin.post("/admin/update-user", {"userId": user["id"], "data": {"plan": "team"}})
    assert r.json()["plan"] == "team"
    r = await world.admin.get("/admin/list-users", {"filterField": "plan", "filterValue": "team"})
    assert [u["email"] for u in r.json()["users"]] == ["p@example.com"]
    # A field hidden from the user object cannot be probed through filters either.
    r = await world.admin.get("/admin/list-users", {"filterField": "internal", "filterValue": "x"})
    assert (r.status_code, r.json()["code"]) == (400, "VALIDATION_ERROR")
