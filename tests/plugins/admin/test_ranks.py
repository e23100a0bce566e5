"""Rank rules (Hardening I, items 1, 5 and 7): an admin action on another user needs grants
that strictly include the target's; roles are granted only within the caller's own grants;
``emailVerified`` and ``admin_emails`` addresses need what set-role needs; a password or email
set by an admin ends the user's sessions and tells them by mail."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from authkeeper.core import errors
from authkeeper.core.changes import UserUpdate
from authkeeper.plugins.admin import AdminSettings, bans, flows, impersonation
from tests.plugins.admin.helpers import PASSWORD, Client, World

pytestmark = pytest.mark.anyio

NEW_PASSWORD = "taken over for good"
ADMIN_USER = AdminSettings().roles["admin"]["user"]
SUPERADMIN = {**AdminSettings().roles["admin"], "user": (*ADMIN_USER, "impersonate-admins")}


def admin_settings(**roles: dict[str, tuple[str, ...]]) -> AdminSettings:
    return dataclasses.replace(AdminSettings(), roles={**AdminSettings().roles, **roles})


def make_root(world: World, *user_ids: str) -> None:
    """Name these users in ``admin_user_ids`` (swapped into the running app's settings)."""
    admin = dataclasses.replace(world.ctx.settings.admin, admin_user_ids=user_ids)
    world.ctx.settings = dataclasses.replace(world.ctx.settings, admin=admin)


async def second_admin(world: World, email: str = "bob@example.com", role: str = "admin") -> tuple[Any, Client]:
    user = await world.make_user(email, role, name="Bob")
    return user, await world.sign_in(email)


async def handle_of(world: World, user_id: str) -> str:
    """The admin handle of one of ``user_id``'s sessions, as an admin above them sees it."""
    sessions = await flows.list_user_sessions(world.ctx, flows.operator(world.ctx), user_id)
    assert sessions
    return flows.session_handle(sessions[0])


async def snapshot(world: World, user_id: str) -> tuple[Any, ...]:
    user = await world.ctx.store.find_user_by_id(user_id)
    assert user is not None
    return (user.email, user.email_verified, user.name, user.extra.get("role"), user.extra.get("banned"))


# (path, body from (world, target id, handle), code)
ADMIN_ACTIONS: list[tuple[str, Callable[[str, str], dict[str, Any]], str]] = [
    (
        "/admin/update-user",
        lambda t, h: {"userId": t, "data": {"email": "eve@example.com", "emailVerified": True}},
        "YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS",
    ),
    (
        "/admin/update-user",
        lambda t, h: {"userId": t, "data": {"name": "Pwned"}},
        "YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS",
    ),
    (
        "/admin/set-user-password",
        lambda t, h: {"userId": t, "newPassword": NEW_PASSWORD},
        "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD",
    ),
    ("/admin/set-role", lambda t, h: {"userId": t, "role": "user"}, "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE"),
    ("/admin/ban-user", lambda t, h: {"userId": t}, "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS"),
    ("/admin/list-user-sessions", lambda t, h: {"userId": t}, "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS"),
    ("/admin/revoke-user-session", lambda t, h: {"sessionToken": h}, "YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS"),
    ("/admin/revoke-user-sessions", lambda t, h: {"userId": t}, "YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS"),
    ("/admin/remove-user", lambda t, h: {"userId": t}, "YOU_ARE_NOT_ALLOWED_TO_DELETE_USERS"),
    ("/admin/impersonate-user", lambda t, h: {"userId": t}, "YOU_CANNOT_IMPERSONATE_ADMINS"),
]
ACTION_IDS = [f"{p}:{i}" for i, (p, _, _) in enumerate(ADMIN_ACTIONS)]


# -- item 1: admin over admin ---------------------------------------------------------------
@pytest.mark.parametrize(("path", "body", "code"), ADMIN_ACTIONS, ids=ACTION_IDS)
async def test_an_admin_cannot_act_on_an_equal_admin(
    world: World, path: str, body: Callable[[str, str], dict[str, Any]], code: str
) -> None:
    bob, bob_client = await second_admin(world)
    before = await snapshot(world, bob.id)
    handle = await handle_of(world, bob.id)
    r = await world.admin.post(path, body(bob.id, handle))
    assert (r.status_code, r.json().get("code")) == (403, code), r.text
    assert await snapshot(world, bob.id) == before
    assert await bob_client.session() is not None  # his sessions are alive
    await world.sign_in("bob@example.com")  # and his password unchanged


async def test_an_admin_cannot_unban_an_equal_admin(world: World) -> None:
    bob, _ = await second_admin(world)
    await bans.ban_user(world.ctx, flows.operator(world.ctx), bob.id, reason="by the operator")
    r = await world.admin.post("/admin/unban-user", {"userId": bob.id})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS")
    assert (await world.ctx.store.find_user_by_id(bob.id)).extra["banned"] is True


async def test_the_takeover_chain_fails(world: World) -> None:
    bob, bob_client = await second_admin(world)
    await world.admin.post(
        "/admin/update-user", {"userId": bob.id, "data": {"email": "eve@example.com", "emailVerified": True}}
    )
    await world.admin.post("/admin/set-user-password", {"userId": bob.id, "newPassword": NEW_PASSWORD})
    for email in ("eve@example.com", "bob@example.com"):
        r = await world.anonymous().post("/sign-in/email", {"email": email, "password": NEW_PASSWORD})
        assert r.status_code == 401, (email, r.text)
    await world.sign_in("bob@example.com")
    assert await bob_client.session() is not None


async def test_an_admin_still_manages_users_below_and_themself(world: World) -> None:
    for number, (path, body, _) in enumerate(ADMIN_ACTIONS[:-1]):
        target = await world.make_user(f"t{number}@example.com", "moderator")
        await world.sign_in(target.email)
        r = await world.admin.post(path, body(target.id, await handle_of(world, target.id)))
        assert r.status_code == 200, (path, r.text)
    # Acting on oneself keeps its old rules.
    r = await world.admin.post("/admin/update-user", {"userId": world.admin_user.id, "data": {"name": "Me"}})
    assert r.status_code == 200 and r.json()["name"] == "Me"
    r = await world.admin.post("/admin/list-user-sessions", {"userId": world.admin_user.id})
    assert r.status_code == 200 and len(r.json()["sessions"]) == 1


async def test_users_in_admin_user_ids_manage_admins(world: World) -> None:
    bob, bob_client = await second_admin(world)
    make_root(world, world.admin_user.id)
    root = world.admin
    r = await root.post("/admin/list-user-sessions", {"userId": bob.id})
    assert r.status_code == 200 and len(r.json()["sessions"]) == 1
    r = await root.post("/admin/revoke-user-session", {"sessionToken": r.json()["sessions"][0]["token"]})
    assert r.status_code == 200 and await bob_client.session() is None
    bob_client = await world.sign_in("bob@example.com")
    assert (await root.post("/admin/revoke-user-sessions", {"userId": bob.id})).status_code == 200
    assert await bob_client.session() is None
    r = await root.post("/admin/update-user", {"userId": bob.id, "data": {"email": "bob2@example.com"}})
    assert r.status_code == 200, r.text
    r = await root.post("/admin/set-user-password", {"userId": bob.id, "newPassword": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    await world.sign_in("bob2@example.com", NEW_PASSWORD)
    assert (await root.post("/admin/ban-user", {"userId": bob.id})).status_code == 200
    assert (await root.post("/admin/unban-user", {"userId": bob.id})).status_code == 200
    assert (await root.post("/admin/set-role", {"userId": bob.id, "role": "user"})).status_code == 200
    assert (await root.post("/admin/set-role", {"userId": bob.id, "role": "admin"})).status_code == 200
    # Impersonating an admin still needs user:impersonate-admins, which the admin role lacks.
    r = await root.post("/admin/impersonate-user", {"userId": bob.id})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_CANNOT_IMPERSONATE_ADMINS")
    assert (await root.post("/admin/remove-user", {"userId": bob.id})).status_code == 200
    # A user in admin_user_ids is above every admin by role: the other admins cannot touch them.
    _, carl = await second_admin(world, "carl@example.com")
    r = await carl.post("/admin/ban-user", {"userId": world.admin_user.id})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS")


async def test_the_operator_manages_admins(world: World) -> None:
    bob, bob_client = await second_admin(world)
    cli = flows.operator(world.ctx)
    assert len(await flows.list_user_sessions(world.ctx, cli, bob.id)) == 1
    await flows.update_user(world.ctx, cli, bob.id, {"email": "bob2@example.com", "emailVerified": True})
    assert await bob_client.session() is None
    await flows.set_user_password(world.ctx, cli, bob.id, NEW_PASSWORD)
    await world.sign_in("bob2@example.com", NEW_PASSWORD)
    await flows.set_role(world.ctx, cli, bob.id, "user")
    await bans.ban_user(world.ctx, cli, bob.id)
    await bans.unban_user(world.ctx, cli, bob.id)
    await flows.revoke_user_sessions(world.ctx, cli, bob.id)
    await flows.remove_user(world.ctx, cli, bob.id)
    assert await world.ctx.store.find_user_by_id(bob.id) is None


# -- item 7: who reads whose sessions -------------------------------------------------------
async def test_moderators_read_only_the_sessions_of_users_below(world: World) -> None:
    mod2 = await world.make_user("mod2@example.com", "moderator")
    await world.sign_in("mod2@example.com")
    for target in (mod2.id, world.admin_user.id):
        r = await world.mod.post("/admin/list-user-sessions", {"userId": target})
        assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS"), r.text
        assert "ipAddress" not in r.text and "userAgent" not in r.text
    r = await world.mod.post("/admin/ban-user", {"userId": mod2.id})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS")
    r = await world.mod.post("/admin/list-user-sessions", {"userId": world.plain_user.id})
    assert r.status_code == 200 and len(r.json()["sessions"]) == 1
    r = await world.mod.post("/admin/list-user-sessions", {"userId": world.mod_user.id})
    assert r.status_code == 200  # their own


# -- impersonate-admins -----------------------------------------------------------------------
async def test_impersonate_admins_reaches_equals_and_admins_but_not_above(make_world) -> None:  # type: ignore[no-untyped-def]
    world: World = await make_world(
        admin=admin_settings(
            superadmin=SUPERADMIN,
            support={"user": ("get", "impersonate", "impersonate-admins")},
        )
    )
    bob, _ = await second_admin(world)
    await world.make_user("root@example.com", "superadmin")
    root = await world.sign_in("root@example.com")
    peer = await world.make_user("peer@example.com", "superadmin")
    # A plain admin and an equal: allowed.
    for target in (bob.id, peer.id):
        client = await world.sign_in("root@example.com")
        r = await client.post("/admin/impersonate-user", {"userId": target})
        assert r.status_code == 200, r.text
    # But the equal peer cannot be banned: impersonate-admins is an exception for impersonation only.
    r = await root.post("/admin/ban-user", {"userId": peer.id})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS")
    # A support role (impersonation only) may act as an admin, not as one strictly above it.
    await world.make_user("help@example.com", "support")
    help_client = await world.sign_in("help@example.com")
    assert (await help_client.post("/admin/impersonate-user", {"userId": bob.id})).status_code == 200
    strong = await world.make_user("strong@example.com", "superadmin,support")
    help_client = await world.sign_in("help@example.com")
    r = await help_client.post("/admin/impersonate-user", {"userId": strong.id})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS")
    # A user in admin_user_ids is above everyone: nobody impersonates them.
    make_root(world, bob.id)
    client = await world.sign_in("root@example.com")
    r = await client.post("/admin/impersonate-user", {"userId": bob.id})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_CANNOT_IMPERSONATE_ADMINS")


# -- may_grant --------------------------------------------------------------------------------
async def test_an_admin_cannot_grant_a_role_above_admin(make_world) -> None:  # type: ignore[no-untyped-def]
    world: World = await make_world(admin=admin_settings(superadmin=SUPERADMIN))
    ann = world.plain_user.id
    r = await world.admin.post("/admin/set-role", {"userId": ann, "role": "superadmin"})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE")
    r = await world.admin.post("/admin/set-role", {"userId": ann, "role": ["user", "superadmin"]})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE")
    r = await world.admin.post("/admin/update-user", {"userId": ann, "data": {"role": "superadmin"}})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE")
    r = await world.admin.post(
        "/admin/create-user", {"email": "s@example.com", "name": "S", "password": PASSWORD, "role": "superadmin"}
    )
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE")
    assert await world.ctx.store.find_user_by_email("s@example.com") is None
    assert (await world.ctx.store.find_user_by_id(ann)).extra["role"] == "user"
    # An admin still makes admins; a user in admin_user_ids grants anything.
    assert (await world.admin.post("/admin/set-role", {"userId": ann, "role": "admin"})).status_code == 200
    make_root(world, world.admin_user.id)
    carl = await world.make_user("carl@example.com")
    r = await world.admin.post("/admin/set-role", {"userId": carl.id, "role": "superadmin"})
    assert r.status_code == 200, r.text


# -- what an admin's change of a password or email does to the user ---------------------------
async def test_set_user_password_ends_sessions_and_tells_the_user(world: World) -> None:
    other = await world.sign_in("ann@example.com")
    r = await world.admin.post("/admin/set-user-password", {"userId": world.plain_user.id, "newPassword": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    assert await world.user.session() is None and await other.session() is None
    assert await world.admin.session() is not None
    mails = world.app.mails("ann@example.com")
    assert len(mails) == 1 and "password" in mails[0].subject.lower() and NEW_PASSWORD not in mails[0].text
    await world.sign_in("ann@example.com", NEW_PASSWORD)
    changed = [e for e in await world.audit(user_id=world.plain_user.id) if e.event == "password-changed"]
    assert changed[0].details == {"by_admin": True, "sessions_revoked": 2}


async def test_an_admins_email_change_ends_sessions_tells_the_old_address_and_unverifies(world: World) -> None:
    ann = world.plain_user.id
    await world.ctx.store.update_user(ann, UserUpdate(email_verified=True))
    r = await world.admin.post("/admin/update-user", {"userId": ann, "data": {"name": "Ann B"}})
    assert r.status_code == 200 and r.json()["emailVerified"] is True
    assert await world.user.session() is not None and world.app.mails("ann@example.com") == []
    r = await world.admin.post("/admin/update-user", {"userId": ann, "data": {"email": "ann.b@example.com"}})
    assert r.status_code == 200, r.text
    assert (r.json()["email"], r.json()["emailVerified"]) == ("ann.b@example.com", False)
    assert await world.user.session() is None
    mails = world.app.mails("ann@example.com")
    assert len(mails) == 1 and "ann.b@example.com" in mails[0].text
    assert world.app.mails("ann.b@example.com") == []
    changed = [e for e in await world.audit(user_id=ann) if e.event == "email-changed"]
    assert changed[0].details["sessions_revoked"] == 1
    # With emailVerified in the same call (and the permission for it), it stays as given.
    r = await world.admin.post(
        "/admin/update-user", {"userId": ann, "data": {"email": "ann.c@example.com", "emailVerified": True}}
    )
    assert (r.json()["email"], r.json()["emailVerified"]) == ("ann.c@example.com", True)


# -- item 5: minting admins through admin_emails ------------------------------------------------
def _clerk_settings() -> AdminSettings:
    return dataclasses.replace(
        admin_settings(
            clerk={"user": ("create", "update", "list", "get")},
            manager={"user": ("create", "update", "list", "get", "set-role")},
        ),
        admin_emails=("Boss@Example.com",),
    )


async def test_a_role_without_set_role_cannot_verify_or_use_admin_emails(make_world) -> None:  # type: ignore[no-untyped-def]
    world: World = await make_world(admin=_clerk_settings())
    await world.make_user("clerk@example.com", "clerk")
    clerk = await world.sign_in("clerk@example.com")
    refused = [
        (
            "/admin/create-user",
            {"email": "x@example.com", "name": "X", "password": PASSWORD, "data": {"emailVerified": True}},
        ),
        ("/admin/create-user", {"email": "boss@example.com", "name": "Boss", "password": PASSWORD}),
        (
            "/admin/create-user",
            {"email": " BOSS@example.COM", "name": "Boss", "password": PASSWORD, "data": {"emailVerified": True}},
        ),
        ("/admin/update-user", {"userId": world.plain_user.id, "data": {"email": "boss@example.com"}}),
        ("/admin/update-user", {"userId": world.plain_user.id, "data": {"emailVerified": True}}),
    ]
    for path, body in refused:
        r = await clerk.post(path, body)
        assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE"), (body, r.text)
    assert await world.ctx.store.find_user_by_email("boss@example.com") is None
    assert await world.ctx.store.find_user_by_email("x@example.com") is None
    assert await world.ctx.store.find_user_by_email("ann@example.com") is not None
    # Ordinary users: fine, unverified; an email change leaves them unverified.
    r = await clerk.post("/admin/create-user", {"email": "y@example.com", "name": "Y", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["user"]["emailVerified"] is False
    r = await clerk.post("/admin/update-user", {"userId": r.json()["user"]["id"], "data": {"email": "z@example.com"}})
    assert r.status_code == 200 and r.json()["emailVerified"] is False


async def test_the_minted_account_does_not_become_admin(make_world) -> None:  # type: ignore[no-untyped-def]
    world: World = await make_world(admin=_clerk_settings())
    await world.make_user("clerk@example.com", "clerk")
    clerk = await world.sign_in("clerk@example.com")
    await clerk.post(
        "/admin/create-user",
        {"email": "boss@example.com", "name": "Boss", "password": PASSWORD, "data": {"emailVerified": True}},
    )
    r = await clerk.post("/admin/create-user", {"email": "plain@example.com", "name": "P", "password": PASSWORD})
    plain_id = r.json()["user"]["id"]
    await clerk.post("/admin/update-user", {"userId": plain_id, "data": {"email": "boss@example.com"}})
    await clerk.post("/admin/update-user", {"userId": plain_id, "data": {"emailVerified": True}})
    r = await world.anonymous().post("/sign-in/email", {"email": "boss@example.com", "password": PASSWORD})
    assert r.status_code == 401
    minted = await world.sign_in("plain@example.com")
    r = await minted.get("/admin/list-users")
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS")


async def test_set_role_below_admin_cannot_make_an_admin_by_email(make_world) -> None:  # type: ignore[no-untyped-def]
    world: World = await make_world(admin=_clerk_settings())
    await world.make_user("manager@example.com", "manager")
    manager = await world.sign_in("manager@example.com")
    r = await manager.post("/admin/create-user", {"email": "boss@example.com", "name": "Boss", "password": PASSWORD})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE")
    # Someone signed up with the listed address (unverified, so no admin): the manager may not verify it.
    squatter = await world.make_user("boss@example.com")
    r = await manager.post("/admin/update-user", {"userId": squatter.id, "data": {"emailVerified": True}})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE")
    assert (await world.ctx.store.find_user_by_id(squatter.id)).email_verified is False
    # Verifying an ordinary user is what set-role's permission allows.
    r = await manager.post("/admin/update-user", {"userId": world.plain_user.id, "data": {"emailVerified": True}})
    assert r.status_code == 200 and r.json()["emailVerified"] is True
    # An admin may do it all.
    r = await world.admin.post("/admin/update-user", {"userId": squatter.id, "data": {"emailVerified": True}})
    assert r.status_code == 200, r.text


async def test_the_flows_refuse_direct_callers_too(make_world) -> None:  # type: ignore[no-untyped-def]
    world: World = await make_world()
    bob, _ = await second_admin(world)
    actor = flows.actor_for(world.ctx, world.admin_user)
    with pytest.raises(errors.AuthError) as caught:
        await flows.list_user_sessions(world.ctx, actor, bob.id)
    assert caught.value.code == "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS"
    assert impersonation.may_impersonate(actor, bob) is False
