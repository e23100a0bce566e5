"""The signed-in user's own pages: profile and email (``/account``), password and deletion
(``/account/security``), and active sessions (``/account/sessions``). Plugins add sections to
the first two (``Plugin.page_sections``: two-factor's card on the security page).

Every change goes through :mod:`authkeeper.flows.account` / :mod:`~authkeeper.flows.sessions`
/ :mod:`~authkeeper.flows.verify_email`, as the API's endpoints do.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ..core import errors
from ..flows import account, sessions
from .page import Form, Page
from .routes import get, post

PROFILE = Form("profile", ("name", "image"))
EMAIL = Form("email", ("new_email", "current_password"))
PASSWORD = Form("password", ("current_password", "new_password"))
DELETE = Form("delete", ("delete_password",))


# -- profile and email ---------------------------------------------------------------------
async def profile_context(page: Page) -> dict[str, Any]:
    """What the profile page shows beside the user: whether changing the email needs the
    current password (a session past ``session.fresh_age``), and the plugins' sections."""
    return {
        "email_needs_password": not sessions.is_fresh(page.ctx, page.my_session),
        **await page.app.section_context(page, "account/profile"),
    }


async def profile_page(page: Page) -> Response:
    return page.render("account/profile.html", **await profile_context(page))


async def save_profile(page: Page) -> Response:
    try:
        name = page.text("name", 255)
        image = page.text("image", 2048)
        await account.update_user(page.ctx, page.me, name=name, image=image or None, extra={})
    except errors.AuthError as exc:
        return page.fail("account/profile.html", exc, PROFILE, keep=PROFILE.fields, **await profile_context(page))
    return page.redirect(page.url("/account"), "profile-saved")


async def change_email(page: Page) -> Response:
    try:
        await page.limit("/change-email")
        await account.change_email(
            page.ctx,
            page.me,
            page.text("new_email"),
            page.url("/verify-email"),
            page.my_session,
            password=page.secret("current_password") or None,
            client=page.call.client,
        )
    except errors.AuthError as exc:
        return page.fail(
            "account/profile.html",
            exc,
            EMAIL,
            keep=("new_email",),
            aliases={"email": "new_email"},
            **await profile_context(page),
        )
    return page.redirect(page.url("/account"), "email-change-sent")


# -- password, deletion --------------------------------------------------------------------
async def security_page(
    page: Page, exc: errors.AuthError | None = None, form: Form | None = None, *, aliases: dict[str, str] | None = None
) -> Response:
    """The security page, or the same page with ``exc`` shown on ``form`` (a plugin's form
    on the page too: two-factor's handlers answer with it)."""
    context: dict[str, Any] = {
        **await page.app.section_context(page, "account/security"),
        "confirm_by_email": page.ctx.settings.user.delete_confirm_by_email,
        "can_delete": page.ctx.settings.user.delete_user_enabled,
    }
    if exc is None or form is None:
        return page.render("account/security.html", **context)
    return page.fail("account/security.html", exc, form, aliases=aliases, **context)


async def change_password(page: Page) -> Response:
    revoke = page.flag("revoke_others")
    try:
        await page.limit("/change-password")
        result = await account.change_password(
            page.ctx,
            page.me,
            page.my_session,
            current_password=page.secret("current_password"),
            new_password=page.secret("new_password"),
            revoke_other_sessions=revoke,
            client=page.call.client,
        )
    except errors.AuthError as exc:
        return await security_page(page, exc, PASSWORD, aliases={"password": "new_password"})
    if result.new_session is not None:
        page.call.set_session_cookie(result.new_session.token, remember=not page.call.dont_remember())
    return page.redirect(page.url("/account/security"), "password-changed-others-out" if revoke else "password-changed")


async def delete_account(page: Page) -> Response:
    try:
        await page.limit("/delete-user")
        deleted = await account.delete_user(
            page.ctx,
            page.me,
            page.my_session,
            password=page.secret("delete_password"),
            token=None,
            callback_url=page.url("/sign-in", notice="account-deleted"),
            confirm_by_email=page.ctx.settings.user.delete_confirm_by_email,
            client=page.call.client,
        )
    except errors.AuthError as exc:
        return await security_page(
            page, exc, DELETE, aliases={"current_password": "delete_password", "password": "delete_password"}
        )
    if not deleted:
        return page.redirect(page.url("/account/security"), "delete-mail-sent")
    page.call.clear_session_cookies()
    return page.redirect(page.url("/sign-in"), "account-deleted")


# -- sessions ------------------------------------------------------------------------------
async def sessions_page(page: Page) -> Response:
    current = page.my_session
    rows = []
    for item in await sessions.list_sessions(page.ctx, current):
        this = item["id"] == current.id
        rows.append(
            {
                "current": this,
                # Never the token: the current session is signed out with the sign-out button,
                # the others are revoked by their handle, which authenticates nothing.
                "handle": None if this else item["token"],
                "user_agent": item.get("userAgent") or "",
                "ip": item.get("ipAddress") or "",
                "created": item["createdAt"],
                "active": item["updatedAt"],
                "expires": item["expiresAt"],
            }
        )
    # This device first, then the most recently active.
    rows.sort(key=lambda r: r["active"], reverse=True)
    rows.sort(key=lambda r: not r["current"])
    return page.render("account/sessions.html", sessions=rows, others=sum(not r["current"] for r in rows))


async def revoke_session(page: Page) -> Response:
    handle = page.form.get("token", "")[:256]
    if not handle.startswith(sessions.HANDLE_PREFIX):
        raise errors.AuthError(errors.INVALID_TOKEN)
    if await sessions.revoke_session(page.ctx, page.my_session, handle, page.call.client):
        page.call.clear_session_cookies()
        return page.redirect(page.url("/sign-in"), "signed-out")
    return page.redirect(page.url("/account/sessions"), "session-revoked")


async def revoke_others(page: Page) -> Response:
    await sessions.revoke_others(page.ctx, page.my_session, page.call.client, page.call.presented)
    return page.redirect(page.url("/account/sessions"), "others-revoked")


ROUTES = [
    get("/account", profile_page, "session"),
    post("/account/profile", save_profile, "session"),
    post("/account/email", change_email, "session"),
    get("/account/security", security_page, "session"),
    post("/account/password", change_password, "session"),
    post("/account/delete", delete_account, "session"),
    get("/account/sessions", sessions_page, "fresh"),
    post("/account/sessions/revoke", revoke_session, "session"),
    post("/account/sessions/revoke-others", revoke_others, "session"),
]
