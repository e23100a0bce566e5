"""Unlocking an account (The first hour, item 10): ``POST /admin/unlock-user`` (``user:update``
and the rank rule, audited as ``account-unlocked``) and ``authkeeper users unlock EMAIL``
clear the sign-in lockout of the user's email and the two-factor lockout of the user."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from authkeeper.flows.sign_in import lockout_key
from authkeeper.plugins.admin import AdminSettings, flows
from authkeeper.plugins.admin.constants import TWO_FACTOR_LOCKOUT_PREFIX
from authkeeper.plugins.admin.events import AdminEvent
from authkeeper.plugins.two_factor import challenge
from tests.plugins.admin.helpers import PASSWORD, World
from tests.plugins.admin.test_cli import ok, run

pytestmark = pytest.mark.anyio


async def lock(world: World, email: str) -> None:
    """Wrong passwords until the email is locked: then even the right one is refused."""
    anonymous = world.anonymous()
    for _ in range(world.ctx.settings.lockout.max_failures + 1):
        await anonymous.post("/sign-in/email", {"email": email, "password": "not the password"})
    r = await anonymous.post("/sign-in/email", {"email": email, "password": PASSWORD})
    assert r.json()["code"] == "ACCOUNT_LOCKED", r.text


async def test_a_locked_user_signs_in_after_unlock(world: World) -> None:
    await lock(world, "ann@example.com")
    r = await world.admin.post("/admin/unlock-user", {"userId": world.plain_user.id})
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True}
    again = world.anonymous()
    r = await again.post("/sign-in/email", {"email": "ANN@example.com", "password": PASSWORD})
    assert r.status_code == 200, r.text
    [event] = [e for e in await world.audit(user_id=world.plain_user.id) if e.event == "account-unlocked"]
    assert event.actor_id == world.admin_user.id and event.details["sign_in_failures"] >= 5
    assert AdminEvent.ACCOUNT_UNLOCKED == "account-unlocked"


async def test_unlock_clears_the_two_factor_lockout(world: World) -> None:
    user_id = world.plain_user.id
    for _ in range(3):
        await world.ctx.store.record_failure(TWO_FACTOR_LOCKOUT_PREFIX + user_id, world.ctx.now(), 900)
    # The key is the one the two-factor plugin counts under (the admin plugin does not import it).
    assert challenge._lock_key(user_id) == TWO_FACTOR_LOCKOUT_PREFIX + user_id
    await flows.unlock_user(world.ctx, flows.actor_for(world.ctx, world.admin_user), user_id)
    assert await world.ctx.store.get_failures(challenge._lock_key(user_id)) is None
    assert await world.ctx.store.get_failures(lockout_key("ann@example.com")) is None
    [event] = [e for e in await world.audit(user_id=user_id) if e.event == "account-unlocked"]
    assert event.details["two_factor_failures"] == 3 and event.details["sign_in_failures"] == 0


async def test_a_moderator_cannot_unlock_and_nobody_unlocks_an_equal(world: World) -> None:
    r = await world.mod.post("/admin/unlock-user", {"userId": world.plain_user.id})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS")
    r = await world.user.post("/admin/unlock-user", {"garbage": 1})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS")
    # A moderator given user:update still may not unlock an admin (the rank rule) …
    roles = {**AdminSettings().roles, "moderator": {"user": ("list", "get", "update"), "audit": ("list",)}}
    world.ctx.settings = dataclasses.replace(
        world.ctx.settings, admin=dataclasses.replace(world.ctx.settings.admin, roles=roles)
    )
    await lock(world, "admin@example.com")
    r = await world.mod.post("/admin/unlock-user", {"userId": world.admin_user.id})
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS"), r.text
    assert await world.ctx.store.get_failures(lockout_key("admin@example.com")) is not None
    # … nor one admin another; but the plain user, yes.
    bob = await world.make_user("bob@example.com", "admin", name="Bob")
    r = await world.admin.post("/admin/unlock-user", {"userId": bob.id})
    assert r.status_code == 403
    assert (await world.mod.post("/admin/unlock-user", {"userId": world.plain_user.id})).status_code == 200
    assert not [e for e in await world.audit(user_id=world.admin_user.id) if e.event == "account-unlocked"]
    r = await world.admin.post("/admin/unlock-user", {"userId": "nobody"})
    assert (r.status_code, r.json()["code"]) == (404, "USER_NOT_FOUND")


async def test_not_through_impersonation(world: World) -> None:
    r = await world.admin.post("/admin/impersonate-user", {"userId": world.plain_user.id})
    assert r.status_code == 200
    r = await world.admin.post("/admin/unlock-user", {"userId": world.mod_user.id})
    assert r.status_code == 403


async def test_cli_unlock_on_a_temp_database(tmp_path: Path, make_app: Any) -> None:
    ok(["migrate"], tmp_path)
    ok(["users", "create", "ann@example.com", "--name", "Ann Example"], tmp_path, PASSWORD + "\n")
    app = await make_app(db_url=f"sqlite:///{tmp_path / 'authkeeper.db'}")
    for _ in range(app.ctx.settings.lockout.max_failures + 1):
        await app.sign_in("ann@example.com", "not the password")
    assert (await app.sign_in("ann@example.com", PASSWORD)).json()["code"] == "ACCOUNT_LOCKED"
    out = ok(["users", "unlock", "ANN@example.com"], tmp_path)
    assert out.startswith("ann@example.com: unlocked"), out
    assert (await app.sign_in("ann@example.com", PASSWORD)).status_code == 200
    r = run(["users", "unlock", "nobody@example.com"], tmp_path)
    assert r.returncode == 1 and "no user with email" in r.stderr
    assert run(["users", "unlock", "--help"], tmp_path).returncode == 0


async def test_cli_unlock_is_audited_as_the_operator(tmp_path: Path) -> None:
    import json

    ok(["migrate"], tmp_path)
    ok(["users", "create", "ann@example.com"], tmp_path, PASSWORD + "\n")
    ok(["users", "unlock", "ann@example.com"], tmp_path)
    rows = [json.loads(line) for line in ok(["audit", "--event", "account-unlocked"], tmp_path).splitlines()]
    assert [(r["event"], r["actorId"]) for r in rows] == [("account-unlocked", "cli")]


def test_users_list_has_a_header_and_names(tmp_path: Path) -> None:
    import json

    ok(["migrate"], tmp_path)
    ok(["users", "create", "ann@example.com", "--name", "Ann Example", "--verified"], tmp_path, PASSWORD + "\n")
    lines = ok(["users", "list"], tmp_path).splitlines()
    assert lines[0].split() == ["ID", "EMAIL", "NAME", "VERIFIED", "ROLE"], lines
    assert "Ann Example" in lines[1] and "ann@example.com" in lines[1]
    # --json unchanged: the users' JSON, a list.
    [ann] = json.loads(ok(["users", "list", "--json"], tmp_path))
    assert ann["name"] == "Ann Example" and ann["email"] == "ann@example.com"


def test_cleanup_says_real_names(tmp_path: Path) -> None:
    ok(["migrate"], tmp_path)
    out = ok(["cleanup"], tmp_path).strip()
    assert "_" not in out and "audit_events" not in out, out
    assert out.startswith("removed 0 expired sessions, 0 expired links"), out
    assert "0 audit events past retention" in out, out
