"""Bans: the user's sessions end, sign-in is refused only after the right password, with
the configured message and never the reason, and an expired ban lifts itself."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from authkeeper.core.changes import UserUpdate
from authkeeper.plugins.admin import AdminSettings
from authkeeper.plugins.admin.bans import lift_expired_ban
from tests.plugins.admin.helpers import PASSWORD, Clock, World

pytestmark = pytest.mark.anyio

MESSAGE = AdminSettings().banned_user_message


async def test_ban_revokes_sessions_and_refuses_sign_in(world: World) -> None:
    other = await world.sign_in("ann@example.com")
    r = await world.admin.post("/admin/ban-user", {"userId": world.plain_user.id, "banReason": "chargebacks"})
    assert r.status_code == 200 and r.json()["user"]["banReason"] == "chargebacks"
    assert await world.user.session() is None and await other.session() is None
    assert await world.ctx.store.list_sessions(world.plain_user.id, world.ctx.now()) == []

    anon = world.anonymous()
    r = await anon.post("/sign-in/email", {"email": "ann@example.com", "password": PASSWORD})
    assert r.status_code == 403
    assert r.json() == {"message": MESSAGE, "code": "BANNED_USER"}
    assert "chargebacks" not in r.text
    assert "set-cookie" not in r.headers
    assert await world.ctx.store.list_sessions(world.plain_user.id, world.ctx.now()) == []


async def test_wrong_password_does_not_reveal_a_ban(world: World) -> None:
    await world.admin.post("/admin/ban-user", {"userId": world.plain_user.id})
    anon = world.anonymous()
    wrong = await anon.post("/sign-in/email", {"email": "ann@example.com", "password": "not her passphrase"})
    unknown = await anon.post("/sign-in/email", {"email": "nobody@example.com", "password": "not her passphrase"})
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json() == unknown.json() == {"message": "Invalid email or password", "code": "INVALID_EMAIL_OR_PASSWORD"}
    )


async def test_custom_banned_message(make_world) -> None:  # type: ignore[no-untyped-def]
    world: World = await make_world(admin=dataclasses.replace(AdminSettings(), banned_user_message="Go away."))
    await world.admin.post("/admin/ban-user", {"userId": world.plain_user.id, "banReason": "secret reason"})
    r = await world.anonymous().post("/sign-in/email", {"email": "ann@example.com", "password": PASSWORD})
    assert r.json() == {"message": "Go away.", "code": "BANNED_USER"}


async def test_expired_ban_is_lifted_at_sign_in(world: World) -> None:
    clock = Clock()
    world.ctx.clock = clock
    r = await world.admin.post("/admin/ban-user", {"userId": world.plain_user.id, "banExpiresIn": 600})
    assert r.status_code == 200
    anon = world.anonymous()
    r = await anon.post("/sign-in/email", {"email": "ann@example.com", "password": PASSWORD})
    assert r.json()["code"] == "BANNED_USER"
    clock.advance(601)
    r = await anon.post("/sign-in/email", {"email": "ann@example.com", "password": PASSWORD})
    assert r.status_code == 200, r.text
    user = await world.ctx.store.find_user_by_id(world.plain_user.id)
    assert (user.extra["banned"], user.extra["banReason"], user.extra["banExpires"]) == (False, None, None)
    lifted = [e for e in await world.audit(user_id=world.plain_user.id) if e.event == "user-unbanned"]
    assert len(lifted) == 1 and lifted[0].actor_id == "system" and lifted[0].details == {"expired": True}


async def test_an_expired_ban_is_lifted_once_and_never_over_a_new_ban(db_url: str, make_world) -> None:  # type: ignore[no-untyped-def]
    world: World = await make_world(db_url=db_url)
    clock = Clock()
    world.ctx.clock = clock
    await world.admin.post("/admin/ban-user", {"userId": world.plain_user.id, "banExpiresIn": 600})
    clock.advance(601)
    stale = await world.ctx.store.find_user_by_id(world.plain_user.id)
    # Sign-ins at once after the expiry (fewer than the lockout's five): lifted once, one audit row.
    results = await asyncio.gather(
        *[
            world.anonymous().post("/sign-in/email", {"email": "ann@example.com", "password": PASSWORD})
            for _ in range(4)
        ]
    )
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    lifted = [e for e in await world.audit(user_id=world.plain_user.id) if e.event == "user-unbanned"]
    assert len(lifted) == 1
    # A request that read the old, expired ban must not lift the admin's new one.
    await world.admin.post("/admin/ban-user", {"userId": world.plain_user.id, "banReason": "again"})
    after = await lift_expired_ban(world.ctx, stale)
    assert after.extra["banned"] is True and after.extra["banReason"] == "again"


async def test_unban_lets_the_user_back_in(world: World) -> None:
    await world.admin.post("/admin/ban-user", {"userId": world.plain_user.id})
    await world.admin.post("/admin/unban-user", {"userId": world.plain_user.id})
    await world.sign_in("ann@example.com")


async def test_moderator_can_ban(world: World) -> None:
    r = await world.mod.post("/admin/ban-user", {"userId": world.plain_user.id})
    assert r.status_code == 200
    r = await world.anonymous().post("/sign-in/email", {"email": "ann@example.com", "password": PASSWORD})
    assert r.json()["code"] == "BANNED_USER"


async def test_banned_user_cannot_be_impersonated(world: World) -> None:
    await world.admin.post("/admin/ban-user", {"userId": world.plain_user.id})
    r = await world.admin.post("/admin/impersonate-user", {"userId": world.plain_user.id})
    assert (r.status_code, r.json()["code"]) == (403, "BANNED_USER")
    assert (await world.admin.session())["user"]["email"] == "admin@example.com"


async def test_ban_check_runs_before_two_factor(world: World) -> None:
    """A banned user with two-factor on gets BANNED_USER, not a second-factor challenge."""
    await world.ctx.store.update_user(world.plain_user.id, UserUpdate(fields={"twoFactorEnabled": True}))
    await world.admin.post("/admin/ban-user", {"userId": world.plain_user.id})
    r = await world.anonymous().post("/sign-in/email", {"email": "ann@example.com", "password": PASSWORD})
    assert (r.status_code, r.json()["code"]) == (403, "BANNED_USER")
    assert "twoFactorRedirect" not in r.text and "set-cookie" not in r.headers


async def test_banned_sign_in_attempt_is_audited(world: World) -> None:
    await world.admin.post("/admin/ban-user", {"userId": world.plain_user.id})
    await world.anonymous().post("/sign-in/email", {"email": "ann@example.com", "password": PASSWORD})
    failed = [e for e in await world.audit(user_id=world.plain_user.id) if e.event == "sign-in-failed"]
    assert [e.details for e in failed] == [{"reason_code": "BANNED_USER"}]
