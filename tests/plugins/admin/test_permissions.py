"""Who may call what: every admin endpoint refuses a plain user, a moderator gets exactly
their role's share, nobody without a session gets in, and nobody grants themselves more."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from authkeeper.core.changes import UserUpdate
from authkeeper.plugins.admin import AdminSettings
from tests.plugins.admin.helpers import PASSWORD, Client, World

pytestmark = pytest.mark.anyio

# (method, path, body or query built from the world, code when refused, allowed for a moderator)
Case = tuple[str, str, Callable[[World], dict[str, Any]], str, bool]
CASES: list[Case] = [
    (
        "POST",
        "/admin/create-user",
        lambda w: {"email": "x@example.com", "name": "X", "password": PASSWORD},
        "YOU_ARE_NOT_ALLOWED_TO_CREATE_USERS",
        False,
    ),
    ("GET", "/admin/list-users", lambda w: {}, "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS", True),
    ("GET", "/admin/get-user", lambda w: {"id": w.plain_user.id}, "YOU_ARE_NOT_ALLOWED_TO_GET_USER", True),
    (
        "POST",
        "/admin/update-user",
        lambda w: {"userId": w.plain_user.id, "data": {"name": "Z"}},
        "YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS",
        False,
    ),
    (
        "POST",
        "/admin/set-role",
        lambda w: {"userId": w.plain_user.id, "role": "user"},
        "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE",
        False,
    ),
    ("POST", "/admin/ban-user", lambda w: {"userId": w.plain_user.id}, "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS", True),
    ("POST", "/admin/unban-user", lambda w: {"userId": w.plain_user.id}, "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS", True),
    (
        "POST",
        "/admin/list-user-sessions",
        lambda w: {"userId": w.plain_user.id},
        "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS",
        True,
    ),
    (
        "POST",
        "/admin/revoke-user-session",
        lambda w: {"sessionToken": "sid_none:none"},
        "YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS",
        True,
    ),
    (
        "POST",
        "/admin/revoke-user-sessions",
        lambda w: {"userId": w.plain_user.id},
        "YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS",
        True,
    ),
    ("POST", "/admin/remove-user", lambda w: {"userId": w.plain_user.id}, "YOU_ARE_NOT_ALLOWED_TO_DELETE_USERS", False),
    (
        "POST",
        "/admin/set-user-password",
        lambda w: {"userId": w.plain_user.id, "newPassword": "a new fine phrase"},
        "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD",
        False,
    ),
    (
        "POST",
        "/admin/impersonate-user",
        lambda w: {"userId": w.plain_user.id},
        "YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS",
        False,
    ),
    ("GET", "/admin/audit-events", lambda w: {}, "YOU_ARE_NOT_ALLOWED_TO_LIST_AUDIT_EVENTS", True),
]
IDS = [c[1] for c in CASES]


async def call(client: Client, method: str, path: str, data: dict[str, Any]) -> Any:
    return await (client.post(path, data) if method == "POST" else client.get(path, data))


@pytest.mark.parametrize(("method", "path", "data", "code", "_mod"), CASES, ids=IDS)
async def test_plain_user_is_refused_everywhere(
    world: World, method: str, path: str, data: Callable[[World], dict[str, Any]], code: str, _mod: bool
) -> None:
    r = await call(world.user, method, path, data(world))
    assert (r.status_code, r.json()["code"]) == (403, code), r.text
    # Refused before the input is looked at: a bad body gets the same answer.
    r = await call(world.user, method, path, {"garbage": True})
    assert (r.status_code, r.json()["code"]) == (403, code), r.text


@pytest.mark.parametrize(("method", "path", "data", "code", "allowed"), CASES, ids=IDS)
async def test_moderator_gets_their_share(
    world: World, method: str, path: str, data: Callable[[World], dict[str, Any]], code: str, allowed: bool
) -> None:
    r = await call(world.mod, method, path, data(world))
    if allowed:
        assert r.status_code == 200, r.text
    else:
        assert (r.status_code, r.json()["code"]) == (403, code), r.text


@pytest.mark.parametrize(
    ("method", "path", "data", "_code", "_mod"),
    [
        *CASES,
        ("POST", "/admin/stop-impersonating", lambda w: {}, "", False),
        ("POST", "/admin/has-permission", lambda w: {"permissions": {"user": ["list"]}}, "", False),
    ],
    ids=[*IDS, "/admin/stop-impersonating", "/admin/has-permission"],
)
async def test_no_session_is_401(
    world: World, method: str, path: str, data: Callable[[World], dict[str, Any]], _code: str, _mod: bool
) -> None:
    r = await call(world.anonymous(), method, path, data(world))
    assert r.status_code == 401
    assert r.json() == {"message": "Unauthorized", "code": "UNAUTHORIZED"}


async def test_a_revoked_role_takes_effect_at_once(world: World) -> None:
    assert (await world.mod.get("/admin/list-users")).status_code == 200
    await world.admin.post("/admin/set-role", {"userId": world.mod_user.id, "role": "user"})
    r = await world.mod.get("/admin/list-users")
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS")


# -- no escalation ------------------------------------------------------------------------
async def test_moderator_cannot_grant_admin(world: World) -> None:
    for target in (world.plain_user.id, world.mod_user.id):
        r = await world.mod.post("/admin/set-role", {"userId": target, "role": "admin"})
        assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE")
        r = await world.mod.post("/admin/update-user", {"userId": target, "data": {"role": "admin"}})
        assert r.status_code == 403
    assert (await world.ctx.store.find_user_by_id(world.mod_user.id)).extra["role"] == "moderator"


def _with_manager() -> AdminSettings:
    roles = dict(AdminSettings().roles)
    roles["manager"] = {"user": ("list", "get", "set-role", "update", "ban"), "session": ("list",)}
    roles["editor"] = {"user": ("update",)}
    return dataclasses.replace(AdminSettings(), roles=roles)


async def test_a_role_manager_grants_no_more_than_they_hold(make_world) -> None:  # type: ignore[no-untyped-def]
    world: World = await make_world(admin=_with_manager())
    await world.make_user("boss@example.com", "manager")
    boss = await world.sign_in("boss@example.com")
    # Lesser or equal roles: fine.
    r = await boss.post("/admin/set-role", {"userId": world.plain_user.id, "role": "user"})
    assert r.status_code == 200, r.text
    r = await boss.post("/admin/set-role", {"userId": world.plain_user.id, "role": "manager"})
    assert r.status_code == 200, r.text
    # More than their own (moderator can revoke sessions and read the audit log; admin is everything).
    for role in ("admin", "moderator", ["user", "admin"]):
        r = await boss.post("/admin/set-role", {"userId": world.plain_user.id, "role": role})
        assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE"), role
    r = await boss.post(
        "/admin/set-role",
        {"userId": (await world.ctx.store.find_user_by_email("boss@example.com")).id, "role": "admin"},
    )
    assert r.status_code == 403
    # Nor may they touch someone who outranks them: demote or ban the admin.
    r = await boss.post("/admin/set-role", {"userId": world.admin_user.id, "role": "user"})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE")
    r = await boss.post("/admin/ban-user", {"userId": world.admin_user.id})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS")
    r = await boss.post("/admin/update-user", {"userId": world.admin_user.id, "data": {"name": "Pwned"}})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS")
    assert (await world.ctx.store.find_user_by_id(world.admin_user.id)).extra["role"] == "admin"


async def test_moderator_cannot_ban_or_revoke_an_admin(world: World) -> None:
    r = await world.mod.post("/admin/ban-user", {"userId": world.admin_user.id})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS")
    r = await world.mod.post("/admin/revoke-user-sessions", {"userId": world.admin_user.id})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS")
    r = await world.mod.post("/admin/list-user-sessions", {"userId": world.admin_user.id})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS")
    r = await world.admin.post("/admin/list-user-sessions", {"userId": world.admin_user.id})
    handle = r.json()["sessions"][0]["token"]
    r = await world.mod.post("/admin/revoke-user-session", {"sessionToken": handle})
    assert r.status_code == 403
    assert await world.admin.session() is not None


async def test_update_user_needs_set_role_for_the_role(make_world) -> None:  # type: ignore[no-untyped-def]
    world: World = await make_world(admin=_with_manager())
    await world.make_user("ed@example.com", "editor")
    ed = await world.sign_in("ed@example.com")
    r = await ed.post("/admin/update-user", {"userId": world.plain_user.id, "data": {"name": "Renamed"}})
    assert r.status_code == 200 and r.json()["name"] == "Renamed"
    r = await ed.post("/admin/update-user", {"userId": world.plain_user.id, "data": {"role": "user"}})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE")
    r = await ed.post("/admin/update-user", {"userId": world.plain_user.id, "data": {"banned": True}})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS")
    r = await ed.post("/admin/update-user", {"userId": world.plain_user.id, "data": {"password": PASSWORD}})
    assert (r.status_code, r.json()["code"]) == (400, "PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER")
    r = await ed.post("/admin/update-user", {"userId": world.plain_user.id, "data": {"id": "new-id"}})
    assert (r.status_code, r.json()["code"]) == (400, "USER_ID_CANNOT_BE_UPDATED")
    user = await world.ctx.store.find_user_by_id(world.plain_user.id)
    assert (user.extra["role"], user.extra["banned"]) == ("user", False)


@pytest.mark.parametrize(
    "field,value",
    [
        ("role", "admin"),
        ("emailVerified", True),
        ("banned", False),
        ("twoFactorEnabled", True),
        ("banReason", "x"),
        ("banExpires", None),
    ],
)
async def test_users_cannot_set_protected_fields_themselves(world: World, field: str, value: Any) -> None:
    r = await world.user.post("/update-user", {field: value})
    assert (r.status_code, r.json()["code"]) == (400, "FIELD_NOT_ALLOWED"), r.text
    r = await world.anonymous().post(
        "/sign-up/email", {"email": f"{field.lower()}@example.com", "password": PASSWORD, "name": "Eve", field: value}
    )
    assert (r.status_code, r.json()["code"]) == (400, "FIELD_NOT_ALLOWED"), r.text
    user = await world.ctx.store.find_user_by_id(world.plain_user.id)
    assert (user.extra["role"], user.email_verified, user.extra["twoFactorEnabled"]) == ("user", False, False)
    assert await world.ctx.store.count_users() == 3


async def test_admin_emails_and_user_ids_are_admins(make_world) -> None:  # type: ignore[no-untyped-def]
    world: World = await make_world(admin=dataclasses.replace(AdminSettings(), admin_emails=("Boss@Example.com",)))
    # Listed but unverified: anyone may sign up with an address they do not own, so no admin yet.
    boss_user = await world.make_user("boss@example.com")  # role column: user
    boss = await world.sign_in("boss@example.com")
    assert (await boss.get("/admin/list-users")).status_code == 403
    await world.ctx.store.update_user(boss_user.id, UserUpdate(email_verified=True))
    boss_user = await world.ctx.store.find_user_by_id(boss_user.id)
    assert (await boss.get("/admin/list-users")).status_code == 200
    assert (await boss.post("/admin/has-permission", {"permissions": {"user": ["delete"]}})).json()["success"] is True
    # An admin by email is an admin to impersonate, too.
    r = await world.admin.post("/admin/impersonate-user", {"userId": boss_user.id})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_CANNOT_IMPERSONATE_ADMINS")

    # By id: the settings name ann's id (swapped into the running app's context).
    assert (await world.user.get("/admin/list-users")).status_code == 403
    world.ctx.settings = dataclasses.replace(
        world.ctx.settings, admin=dataclasses.replace(world.ctx.settings.admin, admin_user_ids=(world.plain_user.id,))
    )
    assert (await world.user.get("/admin/list-users")).status_code == 200
