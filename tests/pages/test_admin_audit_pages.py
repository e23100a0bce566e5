"""The site-wide audit page, the user page's tabs, the unlock button and plural forms on the
admin pages (The first hour, items 9, 10 and 13), in-process."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from authkeeper.core import audit
from authkeeper.plugins.admin import AdminSettings
from tests.pages.helpers import PASSWORD, Visitor, make_user, notice, text, title
from tests.pages.test_admin_pages import world

pytestmark = pytest.mark.anyio


def rows(page: str) -> list[str]:
    """The event names of the audit table, in order."""
    body = page[page.index("<tbody>") : page.index("</tbody>")] if "<tbody>" in page else ""
    return re.findall(r'<span class="event">([^<]+)</span>', body)


async def test_the_site_wide_audit_page_and_its_filters(make_app: Callable[..., Any]) -> None:
    app, admin = await world(make_app)
    ann = await make_user(app, "ann@example.com", name="Ann")
    bob = await make_user(app, "bob@example.com", name="Bob")
    await Visitor(app).sign_in("ann@example.com")
    await Visitor(app).sign_in("bob@example.com", "wrong password")
    # Linked from the admin pages' navigation.
    assert 'href="/admin/audit"' in (await admin.get("/admin")).text
    assert 'href="/admin/audit"' in (await admin.get(f"/admin/users/{ann.id}")).text
    r = await admin.get("/admin/audit")
    assert r.status_code == 200 and title(r.text).startswith("Audit log")
    everything = rows(r.text)
    assert {"user-created", "sign-in", "sign-in-failed"} <= set(everything)
    assert 'method="get"' in r.text and 'action="/admin/audit"' in r.text
    # By event, by user (an email or an id), by time; unknown values fall back.
    assert set(rows((await admin.get("/admin/audit", params={"event": "sign-in-failed"})).text)) == {"sign-in-failed"}
    by_email = rows((await admin.get("/admin/audit", params={"user": "ANN@example.com"})).text)
    by_id = rows((await admin.get("/admin/audit", params={"user": ann.id})).text)
    assert by_email == by_id and "sign-in-failed" not in by_email and "sign-in" in by_email
    page = (await admin.get("/admin/audit", params={"user": bob.id, "event": "sign-in"})).text
    assert rows(page) == [] and "No events match" in text(page)
    page = (await admin.get("/admin/audit", params={"user": "nobody@example.com"})).text
    assert rows(page) == [] and "No user with this email" in text(page)
    today = app.ctx.now().date()
    assert rows((await admin.get("/admin/audit", params={"since": str(today + timedelta(days=1))})).text) == []
    assert rows((await admin.get("/admin/audit", params={"until": str(today - timedelta(days=1))})).text) == []
    assert rows((await admin.get("/admin/audit", params={"since": str(today), "until": str(today)})).text) == everything
    r = await admin.get("/admin/audit", params={"event": "exploded", "since": "last tuesday", "page": "²"})
    assert r.status_code == 200 and rows(r.text) == everything
    await admin.close()


async def test_audit_paging_and_plural_forms(make_app: Callable[..., Any]) -> None:
    app, admin = await world(make_app)
    ann = await make_user(app, "ann@example.com", name="Ann")
    page = (await admin.get(f"/admin/users/{ann.id}", params={"tab": "audit"})).text
    assert "The latest 1 audit event of this user" in text(page), text(page)
    for i in range(60):
        await audit.record(app.ctx.store, audit.Event.SIGN_IN_FAILED, user_id=ann.id, reason_code="x")
    first = (await admin.get("/admin/audit")).text
    assert len(rows(first)) == 50 and "Page 1 of 2" in text(first)
    assert "Showing 1–50 of" in text(first)
    second = (await admin.get("/admin/audit", params={"page": "2", "event": "sign-in-failed"})).text
    assert len(rows(second)) == 10 and "Page 2 of 2" in text(second)
    # The pager keeps the filters.
    assert re.search(
        r'href="/admin/audit\?[^"]*event=sign-in-failed[^"]*page=1|href="/admin/audit\?event=sign-in-failed"', second
    )
    one = (await admin.get("/admin/audit", params={"event": "user-created", "user": ann.id})).text
    assert "1 event" in text(one) and "1 events" not in text(one)
    await admin.close()


async def test_who_may_see_the_audit_page(make_app: Callable[..., Any]) -> None:
    roles = {**AdminSettings().roles, "support": {"user": ("list", "get")}}
    app = await make_app()
    app.ctx.settings = dataclasses.replace(
        app.ctx.settings, admin=dataclasses.replace(app.ctx.settings.admin, roles=roles)
    )
    root = await make_user(app, "root@example.com", name="Root", role="admin")
    await make_user(app, "mod@example.com", name="Mod", role="moderator")
    await make_user(app, "sup@example.com", name="Sup", role="support")
    await make_user(app, "ann@example.com", name="Ann")
    rooted = Visitor(app)
    await rooted.sign_in("root@example.com")
    for email, status in (("ann@example.com", 403), ("sup@example.com", 403), ("mod@example.com", 200)):
        v = Visitor(app)
        await v.sign_in(email)
        r = await v.get("/admin/audit")
        assert r.status_code == status, (email, r.status_code)
        if email == "sup@example.com":
            assert 'href="/admin/audit"' not in (await v.get("/admin")).text
        if email == "mod@example.com":
            # A moderator reads what happened to an admin, not where the admin signs in from.
            page = (await v.get("/admin/audit", params={"user": root.id})).text
            assert "sign-in" in rows(page) and "127.0.0.1" not in page and "testclient" not in page
        await v.close()
    await rooted.close()


async def test_the_user_page_tabs(make_app: Callable[..., Any]) -> None:
    app, admin = await world(make_app)
    ann = await make_user(app, "ann@example.com", name="Ann")
    for _ in range(3):
        v = Visitor(app)
        await v.sign_in("ann@example.com")
    base = f"/admin/users/{ann.id}"
    overview = (await admin.get(base)).text
    for tab in ("sessions", "audit", "actions"):
        assert f'href="{base}?tab={tab}"' in overview, tab
    assert 'aria-current="page"' in overview
    sessions = (await admin.get(base, params={"tab": "sessions"})).text
    assert sessions.count('name="handle"') == 3 and "Sign out everywhere" in sessions
    assert "Set password" not in sessions and "Delete user" not in sessions
    actions = (await admin.get(base, params={"tab": "actions"})).text
    assert "Set password" in actions and "Delete user" in actions and 'name="handle"' not in actions
    audit_tab = (await admin.get(base, params={"tab": "audit"})).text
    assert 'class="ip"' in audit_tab and f'href="/admin/audit?user={ann.id}"' in audit_tab
    assert (await admin.get(base, params={"tab": "nonsense"})).status_code == 200
    # A failing form comes back on its own tab, its error shown.
    r = await admin.submit(base, f"{base}/password", {"new_password": "short"})
    assert "Use at least 8 characters." in r.text and 'id="f-new_password"' in r.text
    await admin.close()


async def test_the_unlock_button(make_app: Callable[..., Any]) -> None:
    app, admin = await world(make_app)
    ann = await make_user(app, "ann@example.com", name="Ann")
    base = f"/admin/users/{ann.id}"
    page = (await admin.get(base)).text
    assert f'action="{base}/unlock"' in page and "Not locked" in text(page)
    ann_browser = Visitor(app)
    for _ in range(app.ctx.settings.lockout.max_failures + 1):
        await ann_browser.sign_in("ann@example.com", "wrong password")
    assert (await ann_browser.sign_in()).status_code != 303
    page = (await admin.get(base)).text
    assert "Locked" in text(page)
    r = await admin.submit(base, f"{base}/unlock", {})
    assert r.status_code == 303 and r.headers["location"] == f"{base}?notice=account-unlocked"
    assert (
        notice((await admin.get(r.headers["location"])).text) == "The account is unlocked: the user can sign in again."
    )
    assert (await ann_browser.sign_in()).headers["location"] == "/account"
    events = rows((await admin.get("/admin/audit", params={"event": "account-unlocked"})).text)
    assert events == ["account-unlocked"]
    # Refused for an equal admin: no button, and a 403 when sent anyway.
    bob = await make_user(app, "bob@example.com", name="Bob", role="admin")
    page = (await admin.get(f"/admin/users/{bob.id}")).text
    assert "/unlock" not in page
    r = await admin.submit(f"/admin/users/{bob.id}", f"/admin/users/{bob.id}/unlock", {})
    assert r.status_code == 403
    # A moderator (no user:update) sees no button.
    await make_user(app, "mod@example.com", name="Mod", role="moderator")
    mod = Visitor(app)
    await mod.sign_in("mod@example.com", PASSWORD)
    assert "/unlock" not in (await mod.get(base)).text
    await mod.close()
    await admin.close()
    await ann_browser.close()
