"""A plugin from outside the package (``tests/plugins/terms``) mounts with
``Authkeeper(settings, plugins=[...])`` and brings a settings section, a table, a user field,
an endpoint, a sign-in stage, a page and an audit event, with nothing in ``src/`` changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from authkeeper import Authkeeper, load_settings
from authkeeper.auth import default_plugins, migration_plan
from authkeeper.storage.memory import MemoryStore
from tests.conftest import fast_settings
from tests.pages.helpers import Visitor, make_user
from tests.plugins.terms import TermsSettings, terms

pytestmark = pytest.mark.anyio


async def test_the_plugin_brings_its_table_field_endpoint_page_and_audit_event(make_app: Any) -> None:
    app = await make_app(plugins=[terms()], terms=TermsSettings(version="v2"))
    user_id = (await app.sign_up()).json()["user"]["id"]
    assert (await app.get("/terms/status")).json() == {"current": "v2", "accepted": False, "history": []}
    r = await app.post("/terms/accept")
    assert r.status_code == 200 and r.json() == {"version": "v2"}
    assert (await app.get("/terms/status")).json()["accepted"] is True
    # Its user field is in the user's JSON, and no client sets it.
    assert (await app.get("/get-session")).json()["user"]["termsVersion"] == "v2"
    r = await app.post("/update-user", {"termsVersion": "forged"})
    assert r.status_code == 400
    assert (await app.get("/get-session")).json()["user"]["termsVersion"] == "v2"
    # Its audit event, in the core's log.
    events, _ = await app.ctx.store.list_audit(
        __import__("authkeeper.core.queries", fromlist=["AuditQuery"]).AuditQuery(user_id=user_id)
    )
    assert "terms-accepted" in [e.event for e in events]
    # Its page, with the core's CSRF and session rules.
    v = Visitor(app)
    await v.sign_in()
    page = await v.get("/terms")
    assert page.status_code == 200 and 'id="terms-accepted"' in page.text
    assert (await Visitor(app).get("/terms")).status_code in (302, 303)  # signed out: to the sign-in page
    await v.close()


async def test_its_sign_in_stage_runs_before_any_session(make_app: Any) -> None:
    app = await make_app(plugins=[terms()], terms=TermsSettings(refused_domains=("blocked.example",)))
    await make_user(app, "eve@blocked.example")
    r = await app.sign_in("eve@blocked.example")
    assert r.status_code == 403 and r.json()["code"] == "TERMS_REFUSED"
    assert "set-cookie" not in r.headers or "session_token=" not in r.headers.get("set-cookie", "").split(";")[0]


async def test_its_settings_come_from_toml_and_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "auth.toml"
    config.write_text('secret = "' + "s" * 40 + '"\n[terms]\nversion = "2027-02"\n')
    settings = load_settings(config, {"AUTHKEEPER_TERMS__REFUSED_DOMAINS": "a.example,b.example"})
    assert settings.section(TermsSettings) == TermsSettings(
        version="2027-02", refused_domains=("a.example", "b.example")
    )
    bad = load_settings(None, {"AUTHKEEPER_SECRET": "s" * 40, "AUTHKEEPER_TERMS__VERSION": " "})
    assert "terms.version: must not be empty" in bad.problems()


async def test_its_migrations_run_as_its_own_branch(tmp_path: Path) -> None:
    settings = fast_settings(f"sqlite:///{tmp_path / 'a.db'}")
    plugins = [*default_plugins(settings), terms()]
    plan = "\n".join(await migration_plan(settings, plugins))
    assert "-- revision terms_0001" in plan and "termsAcceptance" in plan
    from authkeeper import migrate

    changes = await migrate(settings, plugins)
    assert "created table termsAcceptance" in changes and "added column user.termsVersion" in changes
    # Uninstalled, its branch is named, not guessed at: the operator decides about its tables.
    from authkeeper.storage.migrate import SchemaError

    with pytest.raises(SchemaError, match="terms_0001, of a plugin that is not installed"):
        await migrate(settings)
    assert await migrate(settings, plugins) == []


async def test_it_works_on_the_memory_store(tmp_path: Path) -> None:
    settings = fast_settings("sqlite:///unused.db")
    plugins = [*default_plugins(settings), terms()]
    auth = Authkeeper(settings, store=MemoryStore(), plugins=plugins)
    from authkeeper.flows.sign_up import create_user
    from tests.plugins.terms import accept, accepted

    user = await create_user(auth.ctx, name="Ann", email="ann@example.com", password="a fine passphrase")
    assert await accept(auth.ctx, user.id, None) == "2026-01"
    assert await accepted(auth.ctx, user.id) == ["2026-01"]
