"""Where the core flows meet the plugins: auto sign-in after verification goes through the
sign-in stages, the configured default role, impersonation sessions that never slide, a
NULL ``banned`` read as false, a removed user's two-factor row, backup-code regeneration audited."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import sqlalchemy as sa

from authkeeper.core.audit import Event
from authkeeper.core.changes import UserUpdate
from authkeeper.core.settings import EmailPasswordSettings, MailSettings
from authkeeper.plugins.admin import AdminSettings
from authkeeper.plugins.two_factor.events import TwoFactorEvent
from tests.plugins.admin.helpers import Clock, World
from tests.plugins.two_factor.helpers import (
    PASSWORD,
    audit_events,
    enroll,
    freeze,
    user_id,
)

pytestmark = pytest.mark.anyio

VERIFYING = {
    "email_password": EmailPasswordSettings(auto_sign_in_after_verification=True),
    "mail": MailSettings(backend="none", outbox=True),
}


async def _verification_link(app: Any, email: str) -> str:
    r = await app.post("/send-verification-email", {"email": email})
    assert r.status_code == 200, r.text
    url = app.mails(email)[-1].url
    assert url, app.mails(email)
    return str(url).split(app.auth.settings.base_url, 1)[1]


async def test_auto_sign_in_after_verification_signs_in_a_plain_user(make_app) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(**VERIFYING)
    await app.sign_up("ann@example.com", PASSWORD)
    app.client.cookies.clear()
    link = await _verification_link(app, "ann@example.com")
    r = await app.client.get(link)
    assert r.status_code in (200, 302), r.text
    assert (await app.get("/get-session")).json()["user"]["emailVerified"] is True


async def test_auto_sign_in_after_verification_gives_a_banned_user_no_session(make_app) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(**VERIFYING)
    await app.sign_up("ann@example.com", PASSWORD)
    uid = await user_id(app)
    await app.auth.store.update_user(uid, UserUpdate(fields={"banned": True}))
    app.client.cookies.clear()
    link = await _verification_link(app, "ann@example.com")
    r = await app.client.get(link)
    assert r.status_code in (200, 302), r.text
    assert "better-auth.session_token" not in "".join(r.headers.get_list("set-cookie"))
    assert (await app.get("/get-session")).json() is None
    user = await app.auth.store.find_user_by_email("ann@example.com")
    assert user is not None and user.email_verified  # the address is verified all the same


async def test_auto_sign_in_after_verification_does_not_skip_the_second_factor(make_app) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(**VERIFYING)
    clock = freeze(app)
    await enroll(app, clock)
    uid = await user_id(app)
    await app.auth.store.update_user(uid, UserUpdate(email_verified=False))
    app.client.cookies.clear()
    link = await _verification_link(app, "ann@example.com")
    r = await app.client.get(link)
    assert r.status_code in (200, 302), r.text
    assert (await app.get("/get-session")).json() is None
    assert not [
        e
        for e in await audit_events(app, uid)
        if e.event == Event.SIGN_IN and e.details.get("method") == "email-verification"
    ]
    # ... and no challenge was opened that nobody could answer.
    table = app.auth.store.t.verification
    async with app.auth.store.engine.connect() as conn:
        rows = (
            await conn.execute(sa.select(sa.func.count()).select_from(table).where(table.c.identifier.like("2fa-%")))
        ).scalar_one()
    assert rows == 0


async def test_public_sign_up_gets_the_configured_default_role(make_app) -> None:  # type: ignore[no-untyped-def]
    roles = {**AdminSettings().roles, "member": {}}
    app = await make_app(admin=AdminSettings(roles=roles, default_role="member"))
    r = await app.sign_up()
    assert r.json()["user"]["role"] == "member"


async def test_an_impersonation_session_does_not_slide(make_world) -> None:  # type: ignore[no-untyped-def]
    world: World = await make_world()
    clock = Clock()
    world.ctx.clock = clock
    r = await world.admin.post("/admin/impersonate-user", {"userId": world.plain_user.id})
    assert r.status_code == 200, r.text
    token = r.json()["session"]["token"]
    bearer = world.anonymous()
    clock.advance(50 * 60)
    r = await bearer.get("/get-session", headers={"authorization": f"Bearer {token}"})
    assert r.json()["user"]["email"] == "ann@example.com"
    clock.advance(11 * 60)  # past the hour it was given, however recently it was used
    r = await bearer.get("/get-session", headers={"authorization": f"Bearer {token}"})
    assert r.json() is None


async def test_banned_false_filter_includes_rows_where_banned_is_null(make_world) -> None:  # type: ignore[no-untyped-def]
    world: World = await make_world()
    await world.ctx.store.update_user(world.plain_user.id, UserUpdate(fields={"banned": None}))
    r = await world.admin.get(
        "/admin/list-users", {"filterField": "banned", "filterValue": "false", "filterOperator": "eq"}
    )
    assert r.status_code == 200, r.text
    emails = {u["email"] for u in r.json()["users"]}
    assert "ann@example.com" in emails
    r = await world.admin.get(
        "/admin/list-users", {"filterField": "banned", "filterValue": "true", "filterOperator": "eq"}
    )
    assert "ann@example.com" not in {u["email"] for u in r.json()["users"]}


async def test_removing_a_user_removes_their_two_factor_row(db_url: str, make_app) -> None:  # type: ignore[no-untyped-def]
    app = await make_app(db_url=db_url)
    clock = freeze(app)
    await enroll(app, clock)
    uid = await user_id(app)
    assert await app.auth.store.delete_user(uid)
    table = app.auth.store.t.by_name["twoFactor"]
    async with app.auth.store.engine.connect() as conn:
        left = (
            await conn.execute(sa.select(sa.func.count()).select_from(table).where(table.c.userId == uid))
        ).scalar_one()
    assert left == 0


async def test_regenerating_backup_codes_is_audited_without_the_codes(make_app) -> None:  # type: ignore[no-untyped-def]
    app = await make_app()
    clock = freeze(app)
    await enroll(app, clock)
    r = await app.post("/two-factor/generate-backup-codes", {"password": PASSWORD})
    assert r.status_code == 200, r.text
    codes = r.json()["backupCodes"]
    events = [
        e for e in await audit_events(app, await user_id(app)) if e.event == TwoFactorEvent.BACKUP_CODES_REGENERATED
    ]
    assert len(events) == 1
    assert events[0].details == {"count": len(codes)}
    assert not any(code in repr(dataclasses.asdict(events[0])) for code in codes)


async def test_plugin_hooks_work_without_the_lifespan(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Mounted without the lifespan (no start-up), revoking every session still forgets the
    user's trusted devices: the plugins' hooks are wired when the app is built."""
    from authkeeper import Authkeeper, migrate
    from authkeeper.plugins.two_factor.challenge import forget_user
    from tests.conftest import fast_settings

    settings = fast_settings(f"sqlite:///{tmp_path / 'no-lifespan.db'}")
    await migrate(settings)
    auth = Authkeeper(settings)
    assert forget_user in auth.ctx.hooks.on_sessions_ending


async def test_reauthentication_keeps_a_two_factor_user_signed_in(make_app) -> None:  # type: ignore[no-untyped-def]
    """Giving the password again swaps in a fresh session at once: the session being refreshed
    already passed the second factor, and no challenge leaves the user signed out meanwhile."""
    from authkeeper.core.models import ClientInfo
    from authkeeper.flows import sign_in

    app = await make_app()
    clock = freeze(app)
    enrolled = await enroll(app, clock)
    found = await app.auth.store.find_session(enrolled.token)
    assert found is not None
    current, user = found
    fresh = await sign_in.reauthenticate(
        app.ctx, current, user, PASSWORD, ClientInfo(ip="127.0.0.1", user_agent="t"), remember=True
    )
    assert fresh.token != current.token and fresh.created_at == app.ctx.now()
    assert await app.auth.store.find_session(current.token) is None
    assert await app.auth.store.find_session(fresh.token) is not None
