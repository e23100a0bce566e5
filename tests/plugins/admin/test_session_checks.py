"""The admin plugin's check on every resolved session (Hardening I, items 6 and 10):
an impersonation session dies with its impersonator's right to impersonate, and a banned
user's session is refused however it came to exist."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from authkeeper.core.changes import UserUpdate
from authkeeper.core.models import ClientInfo
from authkeeper.flows import sessions
from authkeeper.plugins.admin import bans, flows
from tests.plugins.admin.helpers import Client, World

pytestmark = pytest.mark.anyio


async def impersonating(world: World) -> tuple[Client, str]:
    """The admin's client now acting as Ann, and the impersonation session's token."""
    r = await world.admin.post("/admin/impersonate-user", {"userId": world.plain_user.id})
    assert r.status_code == 200, r.text
    assert (await world.admin.session())["user"]["email"] == "ann@example.com"
    return world.admin, r.json()["session"]["token"]


async def ban_admin(world: World) -> None:
    await bans.ban_user(world.ctx, flows.operator(world.ctx), world.admin_user.id, reason="gone rogue")


async def remove_admin(world: World) -> None:
    await flows.remove_user(world.ctx, flows.operator(world.ctx), world.admin_user.id)


async def demote_admin(world: World) -> None:
    await flows.set_role(world.ctx, flows.operator(world.ctx), world.admin_user.id, "user")


async def demote_to_moderator(world: World) -> None:
    await flows.set_role(world.ctx, flows.operator(world.ctx), world.admin_user.id, "moderator")


@pytest.mark.parametrize("lose", [ban_admin, remove_admin, demote_admin, demote_to_moderator])
async def test_an_impersonation_ends_when_the_impersonator_may_no_longer_impersonate(
    world: World, lose: Callable[[World], Awaitable[None]]
) -> None:
    client, token = await impersonating(world)
    await lose(world)
    assert await client.session() is None
    # The row is gone too: the token is worth nothing by cookie or bearer.
    assert await world.ctx.store.find_session(token) is None
    r = await world.anonymous().get("/get-session", headers={"authorization": f"Bearer {token}"})
    assert r.json() is None


async def test_an_impersonation_survives_while_the_right_holds(world: World) -> None:
    client, _ = await impersonating(world)
    # Unrelated changes to the impersonator keep it going.
    await flows.update_user(world.ctx, flows.operator(world.ctx), world.admin_user.id, {"name": "Renamed"})
    assert (await client.session())["user"]["email"] == "ann@example.com"


async def test_an_impersonation_ends_when_the_target_becomes_an_admin(world: World) -> None:
    """The rule of impersonate-user is re-checked on each use: the target turned admin is one
    this impersonator (without impersonate-admins) may not act as."""
    client, _ = await impersonating(world)
    await flows.set_role(world.ctx, flows.operator(world.ctx), world.plain_user.id, "admin")
    assert await client.session() is None


async def test_a_session_created_for_a_banned_user_is_refused(world: World) -> None:
    """The ban race: a ban that lands after sign-in's ban stage and before the session row is
    written. Simulated by writing the session after the ban, as the losing sign-in would."""
    await bans.ban_user(world.ctx, flows.operator(world.ctx), world.plain_user.id)
    banned = await world.ctx.store.find_user_by_id(world.plain_user.id)
    assert banned is not None
    late = await sessions.create_session(world.ctx, banned, ClientInfo(ip="127.0.0.1"))
    r = await world.anonymous().get("/get-session", headers={"authorization": f"Bearer {late.token}"})
    assert r.json() is None
    assert await world.ctx.store.find_session(late.token) is None


@pytest.mark.parametrize("path", ["/list-sessions", "/update-user"])
async def test_a_banned_users_live_session_is_refused_everywhere(world: World, path: str) -> None:
    """A ban written by any route (here straight to the row, as another worker might, without
    ending the sessions) refuses the user's existing session on its next use."""
    await world.ctx.store.update_user(world.plain_user.id, UserUpdate(fields={"banned": True, "banExpires": None}))
    r = await (world.user.get(path) if path == "/list-sessions" else world.user.post(path, {"name": "x"}))
    assert (r.status_code, r.json()["code"]) == (401, "UNAUTHORIZED")


async def test_an_expired_ban_does_not_refuse(world: World) -> None:
    world_now = world.ctx.now()
    from datetime import timedelta

    await world.ctx.store.update_user(
        world.plain_user.id, UserUpdate(fields={"banned": True, "banExpires": world_now - timedelta(seconds=1)})
    )
    assert (await world.user.session())["user"]["email"] == "ann@example.com"


async def test_the_check_runs_in_the_integration_too(world: World) -> None:
    from starlette.requests import Request

    from authkeeper.integrations.starlette import authenticate

    token = (await world.user.session())["session"]["token"]
    await world.ctx.store.update_user(world.plain_user.id, UserUpdate(fields={"banned": True}))
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/me",
        "headers": [(b"authorization", f"Bearer {token}".encode())],
        "query_string": b"",
    }
    assert await authenticate(world.app.auth, Request(scope)) is None
