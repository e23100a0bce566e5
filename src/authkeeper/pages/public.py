"""Signing in and out: sign-in, sign-up, forgot and reset password, the email
verification landing page, a new verification link, sign-out, and re-authentication.

Each handler reads its form and calls the same flow as the JSON API endpoint; the page
POST counts in that endpoint's rate-limit bucket.
"""

from __future__ import annotations

from starlette.responses import Response

from ..core import errors
from ..core.sign_in import Interruption
from ..flows import reset_password, sign_in, sign_up, verify_email
from ..web.outcomes import apply_sign_in, end_session
from .messages import describe
from .page import Form, Page
from .routes import get, post

SIGN_IN = Form("sign-in", ("email", "password"))
SIGN_UP = Form("sign-up", ("name", "email", "password"))
FORGOT = Form("forgot", ("email",))
RESET = Form("reset", ("password",))
RESEND = Form("resend", ("email",))
REAUTH = Form("reauth", ("password",))


def landing(page: Page, notice: str) -> Response:
    """After a successful form: the ``next`` page if one was asked for, else the account
    page with a notice."""
    target = page.safe_next()
    if target:
        return page.redirect(target)
    return page.redirect(page.url("/account"), notice)


async def home(page: Page) -> Response:
    return page.redirect(page.url("/account" if page.user else "/sign-in"))


# -- sign-in -------------------------------------------------------------------------------
async def sign_in_form(page: Page) -> Response:
    if page.user is not None:
        return page.redirect(page.next_url())
    return page.render("sign_in.html", next=page.safe_next(), remember=True)


async def sign_in_submit(page: Page) -> Response:
    remember = page.flag("remember")
    try:
        await page.limit("/sign-in/email")
        result = await sign_in.sign_in_email(
            page.ctx,
            email=page.text("email"),
            password=page.secret("password"),
            client=page.call.client,
            remember=remember,
            callback_url=page.url("/verify-email"),
            presented=page.call.presented,
        )
    except errors.AuthError as exc:
        return page.fail(
            "sign_in.html",
            exc,
            SIGN_IN,
            keep=("email",),
            next=page.safe_next(),
            remember=remember,
            unverified=exc.code == errors.EMAIL_NOT_VERIFIED.code,
        )
    if apply_sign_in(page.call, result, remember) is not None:
        assert isinstance(result, Interruption)
        return page.redirect(page.url(result.page or "/sign-in", next=page.safe_next()))
    return page.redirect(page.next_url())


# -- sign-up -------------------------------------------------------------------------------
async def sign_up_form(page: Page) -> Response:
    if page.user is not None:
        return page.redirect(page.next_url())
    return page.render("sign_up.html", next=page.safe_next())


async def sign_up_submit(page: Page) -> Response:
    try:
        await page.limit("/sign-up/email")
        data = sign_up.SignUpInput(
            name=page.text("name", 255),
            email=page.text("email"),
            password=page.secret("password"),
            callback_url=page.url("/verify-email"),
        )
        result = await sign_up.sign_up(page.ctx, data, page.call.client)
    except errors.AuthError as exc:
        return page.fail("sign_up.html", exc, SIGN_UP, keep=("name", "email"), next=page.safe_next())
    ep = page.ctx.settings.email_password
    mailed = ep.send_verification_on_sign_up or ep.require_email_verification
    if result.session is None:
        return page.redirect(page.url("/sign-in", next=page.safe_next()), "signed-up-verify")
    page.call.set_session_cookie(result.session.token)
    return landing(page, "signed-up-verify" if mailed else "signed-up")


# -- password reset ------------------------------------------------------------------------
async def forgot_form(page: Page) -> Response:
    return page.render("forgot_password.html")


async def forgot_submit(page: Page) -> Response:
    try:
        await page.limit("/request-password-reset")
        await reset_password.request_reset(page.ctx, page.text("email"), page.url("/reset-password"))
    except errors.AuthError as exc:
        return page.fail("forgot_password.html", exc, FORGOT, keep=("email",))
    return page.redirect(page.url("/forgot-password"), "reset-sent")


async def reset_form(page: Page) -> Response:
    token = page.query("token")[:256]
    # A bad or used link says so at once, not after a new password was typed.
    if page.query("error") or not token or not await reset_password.token_is_valid(page.ctx, token):
        return page.render("reset_password.html", token="", invalid=True, status=400)
    return page.render("reset_password.html", token=token, invalid=False)


async def reset_submit(page: Page) -> Response:
    token = page.form.get("token", "")[:256]
    try:
        await page.limit("/reset-password")
        await reset_password.reset_password(page.ctx, token, page.secret("password"), page.call.client)
    except errors.AuthError as exc:
        if exc.code in (errors.INVALID_TOKEN.code, errors.USER_NOT_FOUND.code):
            return page.render("reset_password.html", token="", invalid=True, status=400)
        return page.fail("reset_password.html", exc, RESET, token=token, invalid=False)
    # Every session of the user is gone (the flow revoked them); this browser's cookie too.
    page.call.clear_session_cookies()
    return page.redirect(page.url("/sign-in"), "password-reset")


# -- email verification --------------------------------------------------------------------
async def verify_landing(page: Page) -> Response:
    """Where the mailed verification link lands, through the API's ``/verify-email``."""
    code = page.query("error")
    if code:
        known = errors.REGISTRY.get(code, errors.INVALID_TOKEN)
        message = describe(errors.AuthError(known), page.ctx.settings, messages=page.app.messages).message
        return page.render("verify_email.html", ok=False, message=message, status=400)
    return page.render("verify_email.html", ok=True, message="")


async def resend_form(page: Page) -> Response:
    return page.render("verify_resend.html")


async def resend_submit(page: Page) -> Response:
    me = page.user
    try:
        await page.limit("/send-verification-email")
        email = me.email if me is not None else page.text("email")
        await verify_email.request_verification(page.ctx, email, page.url("/verify-email"), me)
    except errors.AuthError as exc:
        if me is not None:
            raise
        return page.fail("verify_resend.html", exc, RESEND, keep=("email",))
    if me is not None:
        return page.redirect(page.url("/account"), "verification-sent")
    return page.redirect(page.url("/sign-in"), "check-email-verify")


# -- sign-out and re-authentication --------------------------------------------------------
async def sign_out_form(page: Page) -> Response:
    if page.user is None:
        return page.redirect(page.url("/sign-in"))
    return page.render("sign_out.html")


async def sign_out_submit(page: Page) -> Response:
    await end_session(page.call)
    return page.redirect(page.url("/sign-in"), "signed-out")


async def reauth_form(page: Page) -> Response:
    return page.render("reauth.html", next=page.safe_next())


async def reauth_submit(page: Page) -> Response:
    """The password again: a new, fresh session replaces the old one."""
    call = page.call
    remember = not call.dont_remember()
    try:
        await page.limit("/sign-in/email")
        session = await sign_in.reauthenticate(
            page.ctx, page.my_session, page.me, page.secret("password"), call.client, remember=remember
        )
    except errors.AuthError as exc:
        aliases = {"current_password": "password"}
        if exc.code == errors.INVALID_EMAIL_OR_PASSWORD.code:
            exc = errors.AuthError(errors.INVALID_PASSWORD)
        return page.fail("reauth.html", exc, REAUTH, aliases=aliases, next=page.safe_next())
    call.set_session_cookie(session.token, remember=remember)
    return landing(page, "reauthenticated")


ROUTES = [
    get("/", home),
    get("/sign-in", sign_in_form),
    post("/sign-in", sign_in_submit),
    get("/sign-up", sign_up_form),
    post("/sign-up", sign_up_submit),
    get("/forgot-password", forgot_form),
    post("/forgot-password", forgot_submit),
    get("/reset-password", reset_form),
    post("/reset-password", reset_submit),
    get("/verify-email", verify_landing),
    get("/verify-email/resend", resend_form),
    post("/verify-email/resend", resend_submit),
    get("/sign-out", sign_out_form),
    post("/sign-out", sign_out_submit),
    get("/reauth", reauth_form, "session"),
    post("/reauth", reauth_submit, "session"),
]
