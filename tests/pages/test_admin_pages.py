"""The admin pages, in-process: who sees them, the users table (search, filters, sort,
pages) and a user's page (role, ban, sessions, password, deletion, impersonation, audit)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from authkeeper.core.changes import UserUpdate
from tests.pages.helpers import (
    PASSWORD,
    Visitor,
    form_alert,
    make_user,
    notice,
    text,
    title,
)

pytestmark = pytest.mark.anyio


async def world(make_app: Callable[..., Any], **settings: Any) -> tuple[Any, Visitor]:
    app = await make_app(**settings)
    await make_user(app, "root@example.com", name="Root", role="admin")
    admin = Visitor(app)
    assert (await admin.sign_in("root@example.com")).headers["location"] == "/account"
    return app, admin


def user_rows(page: str) -> list[str]:
    return [text(m) for m in re.findall(r'<a class="user-cell" href="/admin/users/[^"]+">(.*?)</a>', page, re.DOTALL)]


async def test_admin_pages_refuse_other_users_with_a_403_page(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    ann = await make_user(app, "ann@example.com", name="Ann")
    v = Visitor(app)
    await v.sign_in()
    page = (await v.get("/account")).text
    assert 'href="/admin"' not in page
    for path in ("/admin", f"/admin/users/{ann.id}", "/admin?q=x"):
        r = await v.get(path)
        assert r.status_code == 403, path
        assert title(r.text).startswith("Not allowed") and "You do not have access to this page." in r.text
    r = await v.submit("/account", f"/admin/users/{ann.id}/role", {"role": "admin"})
    assert r.status_code == 403 and "text/html" in r.headers["content-type"]
    assert (await v.session())["user"]["role"] == "user"
    await v.close()


async def test_users_table_search_filter_sort_and_pages(make_app: Callable[..., Any], db_url: str) -> None:
    app, admin = await world(make_app, db_url=db_url)
    for i in range(27):
        await make_user(app, f"user{i:02d}@example.com", name=f"User {i:02d}")
    bob = await make_user(app, "bob@example.org", name="Bob Stone", role="moderator")
    await make_user(app, "zed@example.org", name="Zed", banned=True)
    page = (await admin.get("/admin")).text
    assert "30 users." in text(page) and "Showing 1–25 of 30" in text(page) and "Page 1 of 2" in text(page)
    assert len(user_rows(page)) == 25
    page2 = (await admin.get("/admin?page=2")).text
    assert len(user_rows(page2)) == 5
    # Search by email or name.
    page = (await admin.get("/admin", params={"q": "example.org"})).text
    assert sorted(user_rows(page)) == ["BS Bob Stone", "Z Zed"]
    page = (await admin.get("/admin", params={"q": "stone", "field": "name"})).text
    assert user_rows(page) == ["BS Bob Stone"] and f'href="/admin/users/{bob.id}"' in page
    # Filters.
    assert user_rows((await admin.get("/admin", params={"role": "moderator"})).text) == ["BS Bob Stone"]
    # A user with several roles is found under each of them, and "moderator_x" is not "moderator".
    # Read as the access module reads it: spaces ignored, an empty column is the default role.
    await make_user(app, "duo@example.org", name="Duo", role="admin, moderator")
    await make_user(app, "near@example.org", name="Near", role="moderator_x")
    assert sorted(user_rows((await admin.get("/admin", params={"role": "moderator"})).text)) == [
        "BS Bob Stone",
        "D Duo",
    ]
    assert "D Duo" in user_rows((await admin.get("/admin", params={"role": "admin"})).text)
    plain = await make_user(app, "plain@example.org", name="Plain")
    await app.auth.store.update_user(plain.id, UserUpdate(fields={"role": None}))
    assert "P Plain" in user_rows((await admin.get("/admin", params={"role": "user", "q": "example.org"})).text)
    for email in ("duo@example.org", "near@example.org", "plain@example.org"):
        await app.auth.store.delete_user((await app.auth.store.find_user_by_email(email)).id)
    assert user_rows((await admin.get("/admin", params={"status": "banned"})).text) == ["Z Zed"]
    assert len(user_rows((await admin.get("/admin", params={"status": "active", "q": "example.org"})).text)) == 1
    assert user_rows((await admin.get("/admin", params={"verified": "yes"})).text) == []
    # Sort by name, both ways, and the header says so.
    page = (await admin.get("/admin", params={"sort": "name", "dir": "asc"})).text
    assert user_rows(page)[:2] == ["BS Bob Stone", "R Root"]
    assert 'aria-sort="ascending"' in page
    page = (await admin.get("/admin", params={"sort": "name", "dir": "desc"})).text
    assert user_rows(page)[0] == "Z Zed"
    # Unknown values fall back to defaults rather than failing.
    assert (await admin.get("/admin", params={"sort": "password", "role": "nope", "page": "x"})).status_code == 200
    await admin.close()


async def test_user_page_role_ban_sessions_password_delete(make_app: Callable[..., Any]) -> None:
    app, admin = await world(make_app)
    ann = await make_user(app, "ann@example.com", name="Ann")
    ann_browser = Visitor(app)
    await ann_browser.sign_in()
    base = f"/admin/users/{ann.id}"
    page = (await admin.get(base)).text
    assert "ann@example.com" in page and "Audit events" in page and "sign-in" in page
    assert page.count('name="handle"') == 1
    # Role.
    r = await admin.submit(base, f"{base}/role", {"role": "moderator"})
    assert r.headers["location"] == f"{base}?notice=role-changed"
    assert (await ann_browser.session())["user"]["role"] == "moderator"
    r = await admin.submit(base, f"{base}/role", {"role": "emperor"})
    assert r.status_code == 400 and "Choose one of the listed roles." in r.text
    # Ban with a reason and a duration: signed out, cannot sign in, told the configured message.
    r = await admin.submit(base, f"{base}/ban", {"ban_reason": "spam", "ban_duration": "86400"})
    assert r.headers["location"] == f"{base}?notice=user-banned"
    assert await ann_browser.session() is None
    r = await ann_browser.sign_in()
    assert form_alert(r.text, "sign-in") == app.ctx.settings.admin.banned_user_message
    page = (await admin.get(f"{base}?notice=user-banned")).text
    assert notice(page) == "The user is banned and signed out everywhere." and "spam" in page and "Lift the ban" in page
    r = await admin.submit(base, f"{base}/unban", {})
    assert r.headers["location"] == f"{base}?notice=user-unbanned"
    assert (await ann_browser.sign_in()).headers["location"] == "/account"
    # Sessions: one, then all.
    handle = re.search(r'name="handle" value="([^"]+)"', (await admin.get(base)).text).group(1)  # type: ignore[union-attr]
    r = await admin.submit(base, f"{base}/revoke-session", {"handle": handle})
    assert r.headers["location"] == f"{base}?notice=user-session-revoked"
    assert await ann_browser.session() is None
    await ann_browser.sign_in()
    r = await admin.submit(base, f"{base}/revoke-sessions", {})
    assert r.headers["location"] == f"{base}?notice=sessions-revoked" and await ann_browser.session() is None
    # Password: the rules apply, the new one works.
    r = await admin.submit(base, f"{base}/password", {"new_password": "short"})
    assert "Use at least 8 characters." in r.text and 'id="f-new_password-error"' in r.text
    r = await admin.submit(base, f"{base}/password", {"new_password": "set by the admin"})
    assert r.headers["location"] == f"{base}?notice=user-password-set"
    assert (await ann_browser.sign_in(password="set by the admin")).headers["location"] == "/account"
    # The admin cannot ban or delete themself; the forms are not even shown.
    me = await app.ctx.store.find_user_by_email("root@example.com")
    own = (await admin.get(f"/admin/users/{me.id}")).text
    assert "Ban user" not in own and "Delete user" not in own
    r = await admin.submit(f"/admin/users/{me.id}", f"/admin/users/{me.id}/ban", {"ban_reason": ""})
    assert form_alert(r.text, "ban") == "You cannot ban yourself."
    # Delete.
    r = await admin.submit(base, f"{base}/delete", {"confirm": "on"})
    assert r.headers["location"] == "/admin?notice=user-deleted"
    assert (await admin.get(base)).status_code == 404
    await admin.close()
    await ann_browser.close()


async def test_moderator_sees_only_what_their_role_allows(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    root = await make_user(app, "root@example.com", name="Root", role="admin")
    ann = await make_user(app, "ann@example.com", name="Ann")
    mod = Visitor(app)
    await make_user(app, "mod@example.com", name="Mod", role="moderator")
    await mod.sign_in("mod@example.com")
    assert 'href="/admin"' in (await mod.get("/account")).text
    page = (await mod.get(f"/admin/users/{ann.id}")).text
    assert (
        "Ban user" in page
        and "Change role" not in page
        and "Set password" not in page
        and "Act as this user" not in page
    )
    r = await mod.submit(f"/admin/users/{root.id}", f"/admin/users/{root.id}/ban", {"ban_reason": "coup"})
    assert r.status_code == 403 and form_alert(r.text, "ban") == "You are not allowed to ban users"
    assert not (await app.ctx.store.find_user_by_id(root.id)).extra.get("banned")
    r = await mod.submit(f"/admin/users/{ann.id}", f"/admin/users/{ann.id}/role", {"role": "admin"})
    assert r.status_code == 403
    await mod.close()


async def test_impersonation_banner_and_stop(make_app: Callable[..., Any]) -> None:
    app, admin = await world(make_app)
    ann = await make_user(app, "ann@example.com", name="Ann")
    r = await admin.submit(f"/admin/users/{ann.id}", f"/admin/users/{ann.id}/impersonate", {})
    assert r.headers["location"] == "/account"
    for path in ("/account", "/account/security"):
        page = (await admin.get(path)).text
        assert "You are acting as" in page and "Ann" in page and 'action="/admin/stop-impersonating"' in page
    assert (await admin.session())["user"]["email"] == "ann@example.com"
    # Not while impersonating: changing the user's password.
    r = await admin.submit(
        "/account/security", "/account/password", {"current_password": PASSWORD, "new_password": "taken over now"}
    )
    assert form_alert(r.text, "password") == "Not possible while you act as another user. Stop impersonating first."
    r = await admin.submit("/account", "/admin/stop-impersonating", {})
    assert r.headers["location"] == f"/admin/users/{ann.id}?notice=impersonation-stopped"
    page = (await admin.get(r.headers["location"])).text
    assert "You are acting as" not in page and notice(page) == "You are back in your own account."
    assert (await admin.session())["user"]["email"] == "root@example.com"
    events = page[page.index("Audit events") :]
    assert "impersonation-started" in events and "impersonation-stopped" in events
    await admin.close()


async def test_non_ascii_digits_in_the_admin_forms_are_no_500(make_app: Callable[..., Any]) -> None:
    """``"²".isdigit()`` is true and ``int("²")`` fails: such input falls back to the default."""
    app, admin = await world(make_app)
    bob = await make_user(app, "bob@example.org", name="Bob")
    assert (await admin.get("/admin", params={"page": "²"})).status_code == 200
    r = await admin.submit(
        f"/admin/users/{bob.id}", f"/admin/users/{bob.id}/ban", {"ban_reason": "spam", "ban_duration": "²"}
    )
    assert r.status_code == 303, r.text
    await admin.close()


async def test_an_admin_cannot_act_on_an_equal_admin_through_the_pages(make_app: Callable[..., Any]) -> None:
    from authkeeper.plugins.admin import flows

    app, admin = await world(make_app)
    bob = await make_user(app, "bob@example.com", name="Bob", role="admin")
    bob_browser = Visitor(app)
    await bob_browser.sign_in("bob@example.com")
    base = f"/admin/users/{bob.id}"
    page = (await admin.get(base)).text
    assert "bob@example.com" in page
    # Neither the sessions (IPs, devices) nor the forms of an equal are shown.
    assert 'id="us-title"' not in page and 'name="handle"' not in page
    for form in ("Change role", "Ban user", "Set password", "Delete user", "Act as this user", "Sign out everywhere"):
        assert form not in page, form
    handle = flows.session_handle((await flows.list_user_sessions(app.ctx, flows.operator(app.ctx), bob.id))[0])
    refused = [
        ("role", {"role": "user"}, "role", "You may not give or change this role."),
        ("ban", {"ban_reason": "coup"}, "ban", "You are not allowed to ban users"),
        ("revoke-sessions", {}, "sessions", "You are not allowed to revoke users sessions"),
        ("revoke-session", {"handle": handle}, "sessions", "You are not allowed to revoke users sessions"),
        ("password", {"new_password": "taken over now"}, "set-password", "You are not allowed to set users password"),
        ("delete", {"confirm": "on"}, "delete-user", "You are not allowed to delete users"),
        ("impersonate", {}, "impersonate", "You may not act as another administrator."),
    ]
    for action, data, form_id, message in refused:
        r = await admin.submit(base, f"{base}/{action}", data)
        assert r.status_code == 403, (action, r.status_code)
        assert form_alert(r.text, form_id) == message, (action, form_alert(r.text, form_id))
        assert 'name="handle"' not in r.text
    assert (await bob_browser.session())["user"]["role"] == "admin"  # still signed in, still an admin
    again = Visitor(app)
    assert (await again.sign_in("bob@example.com")).headers["location"] == "/account"  # same password
    await admin.close()
    await bob_browser.close()
    await again.close()


async def test_a_moderator_page_shows_no_sessions_of_an_equal(make_app: Callable[..., Any]) -> None:
    app = await make_app()
    ann = await make_user(app, "ann@example.com", name="Ann")
    other = await make_user(app, "other@example.com", name="Other", role="moderator")
    await make_user(app, "mod@example.com", name="Mod", role="moderator")
    for email in ("ann@example.com", "other@example.com"):
        browser = Visitor(app)
        await browser.sign_in(email)
        await browser.close()
    mod = Visitor(app)
    await mod.sign_in("mod@example.com")
    page = (await mod.get(f"/admin/users/{other.id}")).text
    assert 'id="us-title"' not in page and 'name="handle"' not in page and "Ban user" not in page
    page = (await mod.get(f"/admin/users/{ann.id}")).text
    assert 'id="us-title"' in page and page.count('name="handle"') == 1 and "Ban user" in page
    await mod.close()
