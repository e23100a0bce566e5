"""Impersonation: the cookies of spec §8.2 on the way in and out, what an impersonation
session may not do, and who may be impersonated."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from authkeeper.plugins.admin import AdminSettings
from tests.plugins.admin.helpers import PASSWORD, Clock, World, set_cookies

pytestmark = pytest.mark.anyio

SESSION = "better-auth.session_token"
ADMIN = "better-auth.admin_session"
DONT = "better-auth.dont_remember"
DATA = "better-auth.session_data"


def unsign(world: World, header: str) -> str | None:
    value = header.split(";", 1)[0].split("=", 1)[1]
    return world.ctx.signer.unsign(value)


async def test_start_sets_the_cookies(world: World) -> None:
    admin_token = (await world.admin.session())["session"]["token"]
    r = await world.admin.post("/admin/impersonate-user", {"userId": world.plain_user.id})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["email"] == "ann@example.com"
    assert body["session"]["userId"] == world.plain_user.id
    assert body["session"]["impersonatedBy"] == world.admin_user.id
    lifetime = (
        datetime.fromisoformat(body["session"]["expiresAt"][:-1])
        - datetime.fromisoformat(body["session"]["createdAt"][:-1])
    ).total_seconds()
    assert lifetime == 3600

    headers = r.headers.get_list("set-cookie")
    # The old session cookies are expired first ...
    for name in (SESSION, DATA, DONT):
        assert f"{name}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax" in headers
    last = set_cookies(r)
    # ... the admin's token is kept in admin_session (signed "<token>:<dontRemember or empty>") ...
    assert unsign(world, last[ADMIN]) == f"{admin_token}:"
    assert "Max-Age=604800" in last[ADMIN] and "HttpOnly" in last[ADMIN]
    # ... and the impersonation session is a browser-session cookie, with dont_remember.
    assert unsign(world, last[SESSION]) == body["session"]["token"]
    assert "Max-Age" not in last[SESSION]
    assert unsign(world, last[DONT]) == "true" and "Max-Age" not in last[DONT]

    now = await world.admin.session()
    assert now["user"]["email"] == "ann@example.com"
    assert now["session"]["impersonatedBy"] == world.admin_user.id


async def test_stop_restores_the_admin(world: World) -> None:
    admin_session = (await world.admin.session())["session"]
    r = await world.admin.post("/admin/impersonate-user", {"userId": world.plain_user.id})
    impersonation = r.json()["session"]
    r = await world.admin.post("/admin/stop-impersonating")
    assert r.status_code == 200, r.text
    assert r.json()["user"]["email"] == "admin@example.com"
    assert r.json()["session"]["token"] == admin_session["token"]
    last = set_cookies(r)
    assert unsign(world, last[SESSION]) == admin_session["token"] and "Max-Age=604800" in last[SESSION]
    assert last[ADMIN].startswith(f"{ADMIN}=; Max-Age=0")
    assert last[DONT].startswith(f"{DONT}=; Max-Age=0")
    assert (await world.admin.session())["user"]["email"] == "admin@example.com"
    assert ADMIN not in world.admin.http.cookies
    # The impersonation session is gone.
    assert await world.ctx.store.find_session(impersonation["token"]) is None


async def test_admin_dont_remember_survives_the_round_trip(world: World) -> None:
    admin = await world.sign_in("admin@example.com", rememberMe=False)
    token = (await admin.session())["session"]["token"]
    r = await admin.post("/admin/impersonate-user", {"userId": world.plain_user.id})
    assert unsign(world, set_cookies(r)[ADMIN]) == f"{token}:true"
    r = await admin.post("/admin/stop-impersonating")
    last = set_cookies(r)
    assert "Max-Age" not in last[SESSION] and unsign(world, last[DONT]) == "true"


async def test_stop_errors(world: World) -> None:
    r = await world.admin.post("/admin/stop-impersonating")
    assert r.status_code == 400
    assert r.json() == {"message": "You are not impersonating anyone", "code": "YOU_ARE_NOT_IMPERSONATING_ANYONE"}
    # The impersonation token used as a bearer token carries no admin_session cookie.
    r = await world.admin.post("/admin/impersonate-user", {"userId": world.plain_user.id})
    bearer = world.anonymous()
    r = await bearer.post(
        "/admin/stop-impersonating", headers={"authorization": f"Bearer {r.json()['session']['token']}"}
    )
    assert (r.status_code, r.json()["code"]) == (500, "FAILED_TO_FIND_ADMIN_SESSION")


async def test_admin_cookie_must_name_the_impersonating_admins_session(world: World) -> None:
    await world.make_user("other@example.com", "admin")
    other = await world.sign_in("other@example.com")
    other_token = (await other.session())["session"]["token"]
    r = await world.admin.post("/admin/impersonate-user", {"userId": world.plain_user.id})
    client = world.anonymous()
    client.http.cookies.set(SESSION, world.ctx.signer.sign_for_cookie(r.json()["session"]["token"]))
    # Another admin's session in a validly signed admin_session cookie: refused.
    client.http.cookies.set(ADMIN, world.ctx.signer.sign_for_cookie(f"{other_token}:"))
    r = await client.post("/admin/stop-impersonating")
    assert (r.status_code, r.json()["code"]) == (500, "FAILED_TO_FIND_ADMIN_SESSION")
    # An unsigned (forged) one is no better.
    client.http.cookies.set(ADMIN, f"{other_token}:")
    r = await client.post("/admin/stop-impersonating")
    assert (r.status_code, r.json()["code"]) == (500, "FAILED_TO_FIND_ADMIN_SESSION")
    assert (await client.session())["user"]["email"] == "ann@example.com"


async def test_an_impersonation_session_cannot_change_credentials(world: World) -> None:
    await world.admin.post("/admin/impersonate-user", {"userId": world.plain_user.id})
    as_ann = world.admin
    refused = {
        "/change-password": {"currentPassword": PASSWORD, "newPassword": "another fine phrase"},
        "/change-email": {"newEmail": "evil@example.com"},
        "/delete-user": {"password": PASSWORD},
        "/two-factor/enable": {"password": PASSWORD},
        "/two-factor/disable": {"password": PASSWORD},
    }
    for path, body in refused.items():
        r = await as_ann.post(path, body)
        assert (r.status_code, r.json()["code"]) == (403, "NOT_ALLOWED_WHILE_IMPERSONATING"), (path, r.text)
    user = await world.ctx.store.find_user_by_id(world.plain_user.id)
    assert user is not None and user.email == "ann@example.com" and not user.extra["twoFactorEnabled"]
    await world.sign_in("ann@example.com")  # her password is unchanged
    # Harmless profile changes are allowed.
    assert (await as_ann.post("/update-user", {"name": "Ann (edited)"})).status_code == 200


async def test_impersonation_sessions_are_hidden_from_the_user(world: World) -> None:
    await world.admin.post("/admin/impersonate-user", {"userId": world.plain_user.id})
    own = await world.user.get("/list-sessions")
    assert len(own.json()) == 1 and own.json()[0]["impersonatedBy"] is None
    # The admin view shows both, the impersonation marked.
    r = await world.mod.post("/admin/list-user-sessions", {"userId": world.plain_user.id})
    assert sorted(s["impersonatedBy"] or "" for s in r.json()["sessions"]) == ["", world.admin_user.id]


async def test_impersonation_session_expires(world: World) -> None:
    clock = Clock()
    world.ctx.clock = clock
    admin = await world.sign_in("admin@example.com")
    await admin.post("/admin/impersonate-user", {"userId": world.plain_user.id})
    clock.advance(3599)
    assert (await admin.session())["user"]["email"] == "ann@example.com"
    clock.advance(2)
    assert await admin.session() is None


async def test_cannot_impersonate_admins_without_permission(make_world) -> None:  # type: ignore[no-untyped-def]
    roles = dict(AdminSettings().roles)
    roles["superadmin"] = {**roles["admin"], "user": (*roles["admin"]["user"], "impersonate-admins")}
    world: World = await make_world(admin=dataclasses.replace(AdminSettings(), roles=roles))
    other = await world.make_user("other@example.com", "admin")
    r = await world.admin.post("/admin/impersonate-user", {"userId": other.id})
    assert r.status_code == 403
    assert r.json() == {"message": "You cannot impersonate admins", "code": "YOU_CANNOT_IMPERSONATE_ADMINS"}
    multi = await world.make_user("multi@example.com", "user,admin")
    r = await world.admin.post("/admin/impersonate-user", {"userId": multi.id})
    assert r.json()["code"] == "YOU_CANNOT_IMPERSONATE_ADMINS"
    # Moderators are not admins: an admin may impersonate them.
    assert (await world.admin.post("/admin/impersonate-user", {"userId": world.mod_user.id})).status_code == 200

    await world.make_user("root@example.com", "superadmin")
    root = await world.sign_in("root@example.com")
    r = await root.post("/admin/impersonate-user", {"userId": other.id})
    assert r.status_code == 200, r.text
    # Acting as that admin, no second impersonation can be stacked on the first.
    r = await root.post("/admin/impersonate-user", {"userId": world.plain_user.id})
    assert (r.status_code, r.json()["code"]) == (403, "NOT_ALLOWED_WHILE_IMPERSONATING")


async def test_impersonated_user_has_only_their_own_rights(world: World) -> None:
    await world.admin.post("/admin/impersonate-user", {"userId": world.plain_user.id})
    r = await world.admin.get("/admin/list-users")
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS")
