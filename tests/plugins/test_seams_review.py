"""Regressions of the review of the plugin seams: what must hold whichever plugins are on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from authkeeper import Authkeeper, migrate
from authkeeper.core.settings import AdditionalField, UserSettings
from authkeeper.plugins.admin import AdminSettings
from authkeeper.plugins.two_factor import TwoFactorSettings
from authkeeper.server import create_server_app
from tests.conftest import ORIGIN, fast_settings

pytestmark = pytest.mark.anyio
H = {"origin": ORIGIN}


async def client_for(settings: Any) -> tuple[Authkeeper, httpx.AsyncClient]:
    auth = Authkeeper(settings)
    await auth.startup()
    return auth, httpx.AsyncClient(transport=httpx.ASGITransport(app=create_server_app(auth)), base_url=ORIGIN)


async def test_an_impersonation_ends_when_the_admin_plugin_is_turned_off(tmp_path: Path) -> None:
    """The session column that marks a delegated session is the core's: with no plugin to
    vouch for it, the session is ended on sight, never taken for the user's own."""
    url = f"sqlite:///{tmp_path / 'a.db'}"
    await migrate(fast_settings(url))
    auth, c = await client_for(fast_settings(url))
    ids = {}
    for who in ("boss", "ann"):
        r = await c.post(
            "/api/auth/sign-up/email",
            headers=H,
            json={"email": f"{who}@example.com", "password": "a fine passphrase", "name": who},
        )
        ids[who] = r.json()["user"]["id"]
    await c.aclose()
    await auth.shutdown()
    auth, c = await client_for(fast_settings(url, admin=AdminSettings(admin_user_ids=(ids["boss"],))))
    await c.post(
        "/api/auth/sign-in/email", headers=H, json={"email": "boss@example.com", "password": "a fine passphrase"}
    )
    r = await c.post("/api/auth/admin/impersonate-user", headers=H, json={"userId": ids["ann"]})
    assert r.status_code == 200, r.text
    bearer = {"authorization": f"Bearer {r.headers['set-auth-token']}"}
    # While the plugin is on: restricted, as always.
    r = await c.post("/api/auth/change-email", headers={**bearer, **H}, json={"newEmail": "mallory@example.com"})
    assert r.status_code == 403 and r.json()["code"] == "NOT_ALLOWED_WHILE_IMPERSONATING"
    await c.aclose()
    await auth.shutdown()
    auth, c = await client_for(fast_settings(url, admin=AdminSettings(enabled=False)))
    assert (await c.get("/api/auth/get-session", headers=bearer)).json() is None
    r = await c.post("/api/auth/change-email", headers={**bearer, **H}, json={"newEmail": "mallory@example.com"})
    assert r.status_code == 401
    r = await c.post("/api/auth/delete-user", headers={**bearer, **H}, json={})
    assert r.status_code == 401
    await c.aclose()
    await auth.shutdown()


async def test_plugin_columns_stay_closed_to_clients_without_their_plugin(make_app: Any) -> None:
    app = await make_app(admin=AdminSettings(enabled=False), two_factor=TwoFactorSettings(enabled=False))
    for field, value in (("role", "admin"), ("banned", False), ("twoFactorEnabled", True)):
        r = await app.post(
            "/sign-up/email",
            {"email": f"{field.lower()}@example.com", "password": "a fine passphrase", "name": "X", field: value},
        )
        assert r.status_code == 400 and r.json()["code"] == "FIELD_NOT_ALLOWED", (field, r.text)
    await app.sign_up()
    r = await app.post("/update-user", {"role": "admin"})
    assert r.status_code == 400 and r.json()["code"] == "FIELD_NOT_ALLOWED"


async def test_an_additional_field_may_not_take_a_plugin_columns_name(tmp_path: Path) -> None:
    settings = fast_settings(
        f"sqlite:///{tmp_path / 'a.db'}", user=UserSettings(additional_fields=(AdditionalField(name="role"),))
    )
    with pytest.raises(ValueError, match="'role' is a column of the core or of a plugin"):
        Authkeeper(settings)


async def test_list_users_refuses_a_filter_on_a_field_no_installed_plugin_has(make_app: Any) -> None:
    from tests.pages.helpers import PASSWORD, make_user

    app = await make_app(two_factor=TwoFactorSettings(enabled=False))
    await make_user(app, "root@example.com", role="admin")
    await app.sign_in("root@example.com", PASSWORD)
    r = await app.get("/admin/list-users", params={"filterField": "twoFactorEnabled", "filterValue": "true"})
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_ERROR"
    assert "filterField" in r.json()["message"]
    r = await app.get("/admin/list-users", params={"filterField": "banned", "filterValue": "false"})
    assert r.status_code == 200 and r.json()["total"] == 1


async def test_an_anonymous_sign_out_takes_no_write_transaction(make_app: Any) -> None:
    app = await make_app()
    opened: list[int] = []
    real = app.ctx.store.transaction

    def counting() -> Any:
        opened.append(1)
        return real()

    app.ctx.store.transaction = counting
    r = await app.client.post(app.api("/sign-out"), json={}, headers=H)
    assert r.status_code == 200 and opened == []


async def test_the_sql_plan_sees_a_plugin_enabled_later(tmp_path: Path) -> None:
    from authkeeper.auth import default_plugins, migration_plan
    from tests.plugins.terms import terms

    settings = fast_settings(f"sqlite:///{tmp_path / 'a.db'}")
    await migrate(settings)  # core, admin, two-factor: all at their heads
    plugins = [*default_plugins(settings), terms()]
    plan = "\n".join(await migration_plan(settings, plugins))
    assert "-- revision terms_0001" in plan and 'CREATE TABLE "termsAcceptance"' in plan
    assert "-- additional fields" not in plan


async def test_a_revision_with_code_of_its_own_is_named_in_the_plan_and_when_it_runs(tmp_path: Path) -> None:
    from authkeeper.auth import default_plugins, migration_plan
    from authkeeper.plugins.base import Plugin
    from authkeeper.storage.schema import PluginSchema

    versions = tmp_path / "custom_migrations"
    versions.mkdir()
    (versions / "custom_0001.py").write_text(
        'revision = "custom_0001"\ndown_revision = None\nbranch_labels = ("custom",)\ndepends_on = "0001_core"\n\n'
        "from alembic import op\n\n\ndef upgrade():\n"
        '    op.execute(\'UPDATE "user" SET "emailVerified" = emailVerified\')\n'
    )
    custom = Plugin(id="custom", schema=PluginSchema(migrations=versions, branch="custom", head="custom_0001"))
    settings = fast_settings(f"sqlite:///{tmp_path / 'a.db'}")
    await migrate(settings)
    plugins = [*default_plugins(settings), custom]
    plan = await migration_plan(settings, plugins)
    assert "-- revision custom_0001: runs its own code (not planned here)" in plan
    assert "ran revision custom_0001 (its own code)" in await migrate(settings, plugins)
