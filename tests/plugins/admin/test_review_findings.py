"""Holes an attacker-minded review found after the rank rule landed (Hardening I, items 1, 3,
5, 6, 7 and 12): each test failed before its fix."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from authkeeper.core.crypto.tokens import encode_jwt
from authkeeper.core.settings import RateLimitSettings
from authkeeper.flows import links
from authkeeper.plugins.admin import AdminSettings
from tests.plugins.admin.helpers import PASSWORD, Clock, World

pytestmark = pytest.mark.anyio
NEW = "taken over for good"


def with_roles(**roles: Any) -> AdminSettings:
    return dataclasses.replace(AdminSettings(), roles={**AdminSettings().roles, **roles})


SUPPORT = {"user": ("get", "impersonate", "impersonate-admins")}


async def impersonating_an_admin(make_world: Callable[..., Any]) -> tuple[World, Any, Any]:
    world: World = await make_world(admin=with_roles(support=SUPPORT))
    bob = await world.make_user("bob@example.com", "admin", name="Bob")
    await world.make_user("help@example.com", "support")
    helper = await world.sign_in("help@example.com")
    r = await helper.post("/admin/impersonate-user", {"userId": bob.id})
    assert r.status_code == 200, r.text
    return world, helper, bob


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/admin/set-user-password", lambda bob: {"userId": bob.id, "newPassword": NEW}),
        (
            "/admin/create-user",
            lambda bob: {"email": "evil@example.com", "name": "E", "password": NEW, "role": "admin"},
        ),
        ("/admin/update-user", lambda bob: {"userId": bob.id, "data": {"email": "evil@example.com"}}),
        ("/admin/set-role", lambda bob: {"userId": bob.id, "role": "user"}),
        ("/admin/list-users", None),
    ],
)
async def test_no_admin_action_through_an_impersonation_session(
    make_world: Callable[..., Any], path: str, body: Any
) -> None:
    """The impersonator has the user's session, not the user's rank: with impersonate-admins a
    weak role reaches an admin's session, and must not act as that admin."""
    world, helper, bob = await impersonating_an_admin(make_world)
    r = await (helper.get(path) if body is None else helper.post(path, body(bob)))
    assert (r.status_code, r.json()["code"]) == (403, "NOT_ALLOWED_WHILE_IMPERSONATING"), r.text
    assert (
        await world.anonymous().post("/sign-in/email", {"email": "bob@example.com", "password": PASSWORD})
    ).status_code == 200
    assert await world.ctx.store.find_user_by_email("evil@example.com") is None


async def test_an_admin_session_alone_does_not_set_its_own_password_or_email(make_world: Callable[..., Any]) -> None:
    """Self-service goes through the user's own flows (current password or freshness)."""
    world: World = await make_world(admin=with_roles(clerk={"user": ("update", "get", "list", "set-password")}))
    clerk = await world.make_user("clerk@example.com", "clerk")
    stolen = await world.sign_in("clerk@example.com")
    clock = Clock()
    world.ctx.clock = clock
    clock.advance(2 * 86400)  # the cookie is no longer fresh
    r = await stolen.post("/change-email", {"newEmail": "eve@evil.test"})
    assert r.json()["code"] == "SESSION_NOT_FRESH"
    r = await stolen.post("/admin/update-user", {"userId": clerk.id, "data": {"email": "eve@evil.test"}})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS")
    r = await stolen.post("/admin/set-user-password", {"userId": clerk.id, "newPassword": NEW})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD")
    assert await world.ctx.store.find_user_by_email("eve@evil.test") is None
    # Other fields of one's own stay editable.
    r = await stolen.post("/admin/update-user", {"userId": clerk.id, "data": {"name": "Clerk"}})
    assert r.status_code == 200, r.text


async def test_a_host_apps_own_permissions_add_no_rank(make_world: Callable[..., Any]) -> None:
    world: World = await make_world(admin=with_roles(analyst={"report": ("read",)}))
    bob = await world.make_user("bob@example.com", "admin", name="Bob")
    await world.make_user("alice@example.com", "admin,analyst")
    alice = await world.sign_in("alice@example.com")
    r = await alice.post("/admin/set-user-password", {"userId": bob.id, "newPassword": NEW})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD")
    # ... and an admin may still grant such a role.
    r = await world.admin.post("/admin/set-role", {"userId": world.plain_user.id, "role": "analyst"})
    assert r.status_code == 200, r.text


async def test_impersonations_end_when_the_impersonators_sessions_do(world: World) -> None:
    r = await world.admin.post("/admin/impersonate-user", {"userId": world.plain_user.id})
    assert r.status_code == 200
    token = r.json()["session"]["token"]
    other = await world.sign_in("admin@example.com")
    assert (await other.post("/revoke-sessions", {})).status_code == 200
    r = await world.anonymous().get("/get-session", headers={"authorization": f"Bearer {token}"})
    assert r.json() is None
    assert await world.ctx.store.find_session(token) is None


async def test_a_look_alike_of_a_listed_address_needs_set_role(make_world: Callable[..., Any]) -> None:
    settings = dataclasses.replace(
        with_roles(clerk={"user": ("create", "update", "list", "get")}), admin_emails=("boss@example.com",)
    )
    world: World = await make_world(admin=settings)
    await world.make_user("clerk@example.com", "clerk")
    clerk = await world.sign_in("clerk@example.com")
    for spelling in ("\uff42oss@example.com", "BOSS@example.com", " boss@example.com"):
        r = await clerk.post("/admin/create-user", {"email": spelling, "name": "Boss", "password": PASSWORD})
        assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE"), spelling
    assert await world.ctx.store.find_user_by_email("boss@example.com") is None


async def test_a_moderator_reads_no_client_of_an_admins_events(world: World) -> None:
    r = await world.mod.get("/admin/audit-events", {"userId": world.admin_user.id})
    assert r.status_code == 200
    events = r.json()["events"]
    assert events and all(e["ipAddress"] is None and e["userAgent"] is None for e in events)
    # Of a user below them, they do; and an admin sees everything.
    r = await world.mod.get("/admin/audit-events", {"userId": world.plain_user.id})
    assert any(e["ipAddress"] for e in r.json()["events"])
    r = await world.admin.get("/admin/audit-events", {"userId": world.mod_user.id})
    assert any(e["ipAddress"] for e in r.json()["events"])


async def test_an_older_change_email_row_is_no_link(world: World) -> None:
    """A row written before links were keyed by user (JSON) cannot be killed by a password
    change, so it is refused."""
    ctx = world.ctx
    ann = world.plain_user
    nonce = "legacynonce0000000000000000000000"
    await ctx.store.create_verification(
        links.CHANGE_EMAIL + nonce,
        json.dumps({"userId": ann.id, "newEmail": "thief@example.com"}),
        ctx.now() + timedelta(seconds=3600),
    )
    token = encode_jwt(
        ctx.settings.secret,
        {
            "email": ann.email,
            "updateTo": "thief@example.com",
            "requestType": "change-email-verification",
            "userId": ann.id,
            "jti": nonce,
        },
        3600,
    )
    await world.anonymous().get("/verify-email", {"token": token})
    assert (await ctx.store.find_user_by_id(ann.id)).email == "ann@example.com"  # type: ignore[union-attr]


async def test_concurrent_reset_requests_leave_one_link(make_world: Callable[..., Any], db_url: str) -> None:
    world: World = await make_world(db_url=db_url, rate_limit=RateLimitSettings(enabled=False))
    await asyncio.gather(
        *(world.anonymous().post("/request-password-reset", {"email": "ann@example.com"}) for _ in range(20))
    )
    removed = await world.ctx.store.delete_verifications(prefix=links.RESET, value=world.plain_user.id)
    assert removed == 1
