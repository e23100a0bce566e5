"""``Authkeeper(settings, store=MemoryStore())``: the whole service with the default plugins
(admin, two-factor) on the in-memory store, as a user's own unit tests would run it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from authkeeper import Authkeeper
from authkeeper.core.changes import UserUpdate
from authkeeper.core.settings import MailSettings
from authkeeper.server import create_server_app
from authkeeper.storage import MemoryStore
from tests.conftest import ORIGIN, TestApp, fast_settings
from tests.plugins.two_factor.helpers import (
    PASSWORD,
    challenged,
    code_now,
    enroll,
    freeze,
    post,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def app() -> AsyncIterator[TestApp]:
    settings = fast_settings("sqlite:///never-opened.db", mail=MailSettings(backend="none", outbox=True))
    auth = Authkeeper(settings, store=MemoryStore())
    await auth.startup()  # no migration: the store is given, not built from the settings
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_server_app(auth)), base_url=ORIGIN)
    yield TestApp(auth, client)
    await client.aclose()
    await auth.shutdown()


async def test_sign_up_two_factor_sign_in_ban_and_list(app: TestApp) -> None:
    clock = freeze(app)
    store = app.auth.store
    assert isinstance(store, MemoryStore)
    # Sign up: the plugins' fields get their defaults.
    enrolled = await enroll(app, clock)
    ann = await store.find_user_by_email("ann@example.com")
    assert ann is not None and ann.extra["role"] == "user" and ann.extra["twoFactorEnabled"] is True
    assert ann.extra["banned"] is False

    # Signing in asks for the second factor, and the code opens a session.
    browser = await challenged(app)
    r = await post(browser, app, "/two-factor/verify-totp", {"code": code_now(app, enrolled.key)})
    assert r.status_code == 200, r.text
    assert (await browser.get(app.api("/get-session"))).json()["user"]["email"] == "ann@example.com"
    # The same code works once.
    again = await challenged(app)
    r = await post(again, app, "/two-factor/verify-totp", {"code": code_now(app, enrolled.key)})
    assert r.status_code == 401, r.text

    # An admin bans Ann: her sessions end, and she cannot sign in.
    boss = app.new_client()
    r = await post(boss, app, "/sign-up/email", {"email": "boss@example.com", "password": PASSWORD, "name": "Boss"})
    assert r.status_code == 200, r.text
    boss_id = r.json()["user"]["id"]
    await store.update_user(boss_id, UserUpdate(fields={"role": "admin"}))
    r = await post(boss, app, "/admin/ban-user", {"userId": ann.id, "banReason": "spam"})
    assert r.status_code == 200, r.text
    assert (await browser.get(app.api("/get-session"))).json() is None
    r = await post(app.new_client(), app, "/sign-in/email", {"email": "ann@example.com", "password": PASSWORD})
    assert r.status_code == 403 and r.json()["code"] == "BANNED_USER", r.text

    # The admin lists the users, and finds the banned ones.
    r = await boss.get(app.api("/admin/list-users"), params={"sortBy": "email"})
    assert r.status_code == 200, r.text
    assert [u["email"] for u in r.json()["users"]] == ["ann@example.com", "boss@example.com"]
    r = await boss.get(app.api("/admin/list-users"), params={"filterField": "banned", "filterValue": "true"})
    assert [u["email"] for u in r.json()["users"]] == ["ann@example.com"]

    # Removing her takes her two-factor row and sessions with her.
    r = await post(boss, app, "/admin/remove-user", {"userId": ann.id})
    assert r.status_code == 200, r.text
    assert await store.find_user_by_id(ann.id) is None
    assert await store.select("twoFactor", {"userId": ann.id}) == []
    await boss.aclose()
    await browser.aclose()
    await again.aclose()


async def test_a_store_without_plugins_has_none_of_their_fields() -> None:
    store = MemoryStore()
    assert "role" not in store.t.user.c and "twoFactorEnabled" not in store.t.user.c
    # The delegation marker is the core's (a delegated session stays restricted without admin).
    assert "impersonatedBy" in store.t.session.c and store.t.by_name == {}
