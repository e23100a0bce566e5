"""The audit trail of admin actions, ``GET /admin/audit-events`` (SQLite and PostgreSQL)
and retention."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from authkeeper.core.models import AuditEvent
from authkeeper.core.settings import AuditSettings
from authkeeper.storage.sql import SqlStore
from tests.plugins.admin.helpers import PASSWORD, World

pytestmark = pytest.mark.anyio


async def test_every_admin_action_is_audited(world: World) -> None:
    admin_id, ann = world.admin_user.id, world.plain_user.id
    r = await world.admin.post("/admin/create-user", {"email": "new@example.com", "name": "New", "password": PASSWORD})
    new_id = r.json()["user"]["id"]
    await world.admin.post("/admin/set-role", {"userId": ann, "role": "moderator"})
    await world.admin.post("/admin/update-user", {"userId": ann, "data": {"role": "user", "email": "ann2@example.com"}})
    await world.admin.post("/admin/ban-user", {"userId": ann, "banReason": "spam", "banExpiresIn": 60})
    await world.admin.post("/admin/unban-user", {"userId": ann})
    await world.sign_in("ann2@example.com")
    await world.admin.post("/admin/revoke-user-sessions", {"userId": ann})
    await world.sign_in("ann2@example.com")
    handle = (await world.admin.post("/admin/list-user-sessions", {"userId": ann})).json()["sessions"][0]["token"]
    await world.admin.post("/admin/revoke-user-session", {"sessionToken": handle})
    await world.admin.post("/admin/set-user-password", {"userId": ann, "newPassword": "another fine phrase"})
    await world.admin.post("/admin/impersonate-user", {"userId": ann})
    await world.admin.post("/admin/stop-impersonating")
    await world.admin.post("/admin/remove-user", {"userId": new_id})

    by_admin = [
        (e.event, e.user_id)
        for e in reversed(await world.audit(user_id=admin_id))
        if e.actor_id == admin_id and e.user_id != admin_id
    ]
    assert by_admin == [
        ("user-created", new_id),
        ("role-changed", ann),
        ("role-changed", ann),
        ("email-changed", ann),
        ("user-banned", ann),
        ("user-unbanned", ann),
        ("session-revoked", ann),
        ("session-revoked", ann),
        ("password-changed", ann),
        ("impersonation-started", ann),
        ("impersonation-stopped", ann),
        ("user-removed", new_id),
    ]
    # Oldest first, so the newest of each kind is kept.
    events = {
        e.event: e
        for e in reversed(await world.audit(user_id=admin_id))
        if e.actor_id == admin_id and e.user_id != admin_id
    }
    assert events["user-banned"].details["reason"] == "spam"
    assert events["user-banned"].details["expires_at"].endswith("Z")
    assert events["role-changed"].details == {"old_role": "moderator", "new_role": "user"}
    assert events["user-removed"].details == {"email": "new@example.com"}
    assert events["password-changed"].details == {"by_admin": True, "sessions_revoked": 0}
    # Nothing secret in any row.
    for e in await world.audit():
        assert PASSWORD not in str(e.details) and "another fine phrase" not in str(e.details)


async def test_no_admin_action_through_an_impersonated_admin(make_world) -> None:  # type: ignore[no-untyped-def]
    """Admin actions are refused through an impersonation session (they once ran, audited as
    the impersonated admin with ``impersonated_by``): the impersonator has the session, not the
    rank, and nothing done through it may outlive it."""
    from authkeeper.plugins.admin import AdminSettings

    roles = dict(AdminSettings().roles)
    roles["superadmin"] = {**roles["admin"], "user": (*roles["admin"]["user"], "impersonate-admins")}
    world: World = await make_world(admin=dataclasses.replace(AdminSettings(), roles=roles))
    root_user = await world.make_user("root@example.com", "superadmin")
    root = await world.sign_in("root@example.com")
    await root.post("/admin/impersonate-user", {"userId": world.admin_user.id})
    r = await root.post("/admin/ban-user", {"userId": world.plain_user.id})
    assert (r.status_code, r.json()["code"]) == (403, "NOT_ALLOWED_WHILE_IMPERSONATING")
    assert not [e for e in await world.audit(user_id=world.plain_user.id) if e.event == "user-banned"]
    started = [e for e in await world.audit(user_id=world.admin_user.id) if e.event == "impersonation-started"]
    assert started[0].actor_id == root_user.id


async def test_the_audit_row_is_in_the_transaction_of_the_change(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(self: SqlStore, event: AuditEvent) -> None:
        raise RuntimeError("audit storage down")

    monkeypatch.setattr(SqlStore, "add_audit", broken)
    r = await world.admin.post("/admin/ban-user", {"userId": world.plain_user.id})
    assert r.status_code == 500
    user = await world.ctx.store.find_user_by_id(world.plain_user.id)
    assert user.extra["banned"] is False
    assert await world.user.session() is not None  # her sessions survived the rolled-back ban
    r = await world.admin.post("/admin/set-role", {"userId": world.plain_user.id, "role": "admin"})
    assert r.status_code == 500
    assert (await world.ctx.store.find_user_by_id(world.plain_user.id)).extra["role"] == "user"


# -- GET /admin/audit-events ---------------------------------------------------------------
BASE = datetime(2030, 1, 1, tzinfo=UTC)


async def seed(world: World) -> None:
    """Twelve known events an hour apart, on top of the sign-ups and sign-ins of the world."""
    rows = [
        ("user-banned", "u1"),
        ("user-unbanned", "u1"),
        ("role-changed", "u2"),
        ("user-banned", "u2"),
        ("sign-in", "u1"),
        ("sign-in", "u2"),
        ("user-removed", "u3"),
        ("password-changed", "u1"),
        ("user-banned", "u3"),
        ("session-revoked", "u1"),
        ("role-changed", "u1"),
        ("sign-out", "u2"),
    ]
    for i, (event, user_id) in enumerate(rows):
        await world.ctx.store.add_audit(
            AuditEvent(
                id=f"seed{i:02d}",
                created_at=BASE + timedelta(hours=i),
                event=event,
                actor_id="boss",
                user_id=user_id,
                ip_address="10.0.0.1",
                user_agent="test",
                details={"n": i},
            )
        )


@pytest.fixture
async def seeded(db_url: str, make_world: Callable[..., Any]) -> World:
    world: World = await make_world(db_url=db_url)
    await seed(world)
    return world


async def events(world: World, **params: Any) -> dict[str, Any]:
    r = await world.admin.get("/admin/audit-events", params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_audit_events_shape_and_order(seeded: World) -> None:
    body = await events(seeded, userId="u1")
    assert set(body) == {"events", "total", "limit", "offset"}
    assert (body["total"], body["limit"], body["offset"]) == (6, 100, 0)
    first = body["events"][0]
    assert first == {
        "id": "seed10",
        "createdAt": "2030-01-01T10:00:00.000Z",
        "event": "role-changed",
        "actorId": "boss",
        "userId": "u1",
        "ipAddress": "10.0.0.1",
        "userAgent": "test",
        "details": {"n": 10},
    }
    assert [e["id"] for e in body["events"]] == ["seed10", "seed09", "seed07", "seed04", "seed01", "seed00"]


async def test_audit_events_filters(seeded: World) -> None:
    assert (await events(seeded, event="user-banned"))["total"] == 3
    both = await events(seeded, event=["user-banned", "role-changed"])
    assert both["total"] == 5
    assert (await events(seeded, event="user-banned,role-changed"))["total"] == 5
    assert (await events(seeded, event="user-banned", userId="u3"))["total"] == 1
    # The actor matches too.
    assert (await events(seeded, userId="boss"))["total"] == 12
    window = await events(seeded, since="2030-01-01T02:00:00Z", until="2030-01-01T05:00:00Z")
    assert [e["id"] for e in window["events"]] == ["seed04", "seed03", "seed02"]
    offset = await events(seeded, since="2030-01-01T02:00:00+00:00")
    assert offset["total"] == 10
    page = await events(seeded, userId="boss", limit=5, offset=10)
    assert (page["total"], page["limit"], page["offset"], len(page["events"])) == (12, 5, 10, 2)
    assert [e["id"] for e in page["events"]] == ["seed01", "seed00"]


async def test_audit_events_bad_parameters(seeded: World) -> None:
    for params, name in [
        ({"limit": 501}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"event": "user-exploded"}, "event"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2030-13-45"}, "until"),
    ]:
        r = await seeded.admin.get("/admin/audit-events", params)
        assert (r.status_code, r.json()["code"]) == (400, "VALIDATION_ERROR"), params
        assert f"[query.{name}]" in r.json()["message"]
    assert (await events(seeded, limit=500))["limit"] == 500


async def test_audit_events_permission(world: World) -> None:
    r = await world.user.get("/admin/audit-events")
    assert (r.status_code, r.json()["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_LIST_AUDIT_EVENTS")
    r = await world.mod.get("/admin/audit-events", {"event": "sign-in"})
    assert r.status_code == 200 and r.json()["total"] == 3


# -- retention ----------------------------------------------------------------------------
async def test_cleanup_prunes_old_events(make_world: Callable[..., Any]) -> None:
    world: World = await make_world(audit=AuditSettings(retention_days=30))
    now = datetime.now(UTC)
    for i, age in enumerate((400, 31, 29)):
        await world.ctx.store.add_audit(
            AuditEvent(
                id=f"old{i}",
                created_at=now - timedelta(days=age),
                event="sign-in",
                actor_id=None,
                user_id="x",
                ip_address=None,
                user_agent=None,
            )
        )
    removed = await world.app.auth.cleanup()
    assert removed["audit_events"] == 2
    left = {e.id for e in await world.audit(user_id="x")}
    assert left == {"old2"}


async def test_retention_zero_keeps_everything(make_world: Callable[..., Any]) -> None:
    world: World = await make_world(audit=AuditSettings(retention_days=0))
    await world.ctx.store.add_audit(
        AuditEvent(
            id="ancient",
            created_at=datetime(2001, 1, 1, tzinfo=UTC),
            event="sign-in",
            actor_id=None,
            user_id="x",
            ip_address=None,
            user_agent=None,
        )
    )
    assert (await world.app.auth.cleanup())["audit_events"] == 0
    assert len(await world.audit(user_id="x")) == 1
