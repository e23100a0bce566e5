"""The core endpoints of Better Auth's protocol (spec §7), each a thin call into a flow."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from starlette.responses import Response

from ..core import errors
from ..core.redirects import location_of
from ..core.users import hidden_fields, is_valid_email, normalise_email
from ..flows import account, reset_password, sessions, sign_in, sign_up, verify_email
from ..flows.sign_in import SignedIn
from ..web.call import Call, Endpoint
from ..web.outcomes import apply_sign_in, end_session
from . import schemas as s


def user_json(call: Call, user: Any) -> dict[str, Any]:
    data: dict[str, Any] = user.to_json(hidden_fields(call.ctx.settings.user))
    return data


def with_query(url: str, **params: str) -> str:
    """Add query parameters to a (possibly relative) URL."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


# -- sign-up, sign-in, sign-out ---------------------------------------------------------
async def sign_up_email(call: Call) -> Response:
    b: s.SignUpBody = call.body
    if not is_valid_email(normalise_email(b.email)):
        # Better Auth's body schema refuses it before the handler runs (sign-in says INVALID_EMAIL).
        raise errors.AuthError(errors.VALIDATION_ERROR, "Invalid email address", field="email")
    known = {"name", "email", "password", "image", "callbackURL", "rememberMe"}
    extra = {k: v for k, v in call.raw.items() if k not in known}
    result = await sign_up.sign_up(
        call.ctx,
        sign_up.SignUpInput(
            name=b.name,
            email=b.email,
            password=b.password,
            image=b.image,
            callback_url=b.callbackURL,
            remember=b.rememberMe,
            extra=extra,
        ),
        call.client,
    )
    token = None
    if result.session is not None:
        call.set_session_cookie(result.session.token, remember=b.rememberMe)
        token = result.session.token
    return call.json({"token": token, "user": user_json(call, result.user)})


async def sign_in_email(call: Call) -> Response:
    b: s.SignInBody = call.body
    result = await sign_in.sign_in_email(
        call.ctx,
        email=b.email,
        password=b.password,
        client=call.client,
        remember=b.rememberMe,
        callback_url=b.callbackURL,
        presented=call.presented,
    )
    interrupted = apply_sign_in(call, result, b.rememberMe)
    if interrupted is not None:
        return call.json(interrupted)
    assert isinstance(result, SignedIn)
    body: dict[str, Any] = {"redirect": bool(b.callbackURL), "token": result.session.token}
    if b.callbackURL:
        body["url"] = b.callbackURL
    body["user"] = user_json(call, result.user)
    response = call.json(body)
    if b.callbackURL:
        response.headers["Location"] = location_of(b.callbackURL)
    return response


async def sign_out(call: Call) -> Response:
    await end_session(call)
    return call.json({"success": True})


# -- sessions ---------------------------------------------------------------------------
async def get_session(call: Call) -> Response:
    if call.resolved is None:
        return call.json(None)
    r = call.resolved
    user = user_json(call, r.user)
    call.set_cookie_cache(r.session, user)
    return call.json({"session": r.session.to_json(), "user": user})


async def post_get_session(call: Call) -> Response:
    raise errors.AuthError(errors.METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED)


async def list_sessions(call: Call) -> Response:
    return call.json(await sessions.list_sessions(call.ctx, call.session))


async def revoke_session(call: Call) -> Response:
    b: s.TokenBody = call.body
    if await sessions.revoke_session(call.ctx, call.session, b.token, call.client):
        call.clear_session_cookies()
    return call.json({"status": True})


async def revoke_sessions(call: Call) -> Response:
    await sessions.revoke_all(call.ctx, call.user.id, call.client)
    call.clear_session_cookies()
    return call.json({"status": True})


async def revoke_other_sessions(call: Call) -> Response:
    await sessions.revoke_others(call.ctx, call.session, call.client, call.presented)
    return call.json({"status": True})


async def update_session(call: Call) -> Response:
    # A body that is not an object was refused when it was read (VALIDATION_ERROR, as on
    # every endpoint); no session field is client-settable, so any object updates nothing.
    raise errors.AuthError(errors.NO_FIELDS_TO_UPDATE)


# -- the user's own account -------------------------------------------------------------
async def update_user(call: Call) -> Response:
    b: s.UpdateUserBody = call.body
    extra = {k: v for k, v in call.raw.items() if k not in ("name", "image")}
    kwargs: dict[str, Any] = {}
    if "name" in call.raw:
        if b.name is None:
            raise errors.AuthError(
                errors.VALIDATION_ERROR, "Invalid input: expected string, received null", field="name"
            )
        kwargs["name"] = b.name
    if "image" in call.raw:
        kwargs["image"] = b.image
    await account.update_user(call.ctx, call.user, extra=extra, **kwargs)
    return call.json({"status": True})


async def verify_password(call: Call) -> Response:
    b: s.PasswordBody = call.body
    await sign_in.verify_current_password(
        call.ctx, call.user, b.password, client=call.client, endpoint="verify-password"
    )
    return call.json({"status": True})


async def change_password(call: Call) -> Response:
    b: s.ChangePasswordBody = call.body
    result = await account.change_password(
        call.ctx,
        call.user,
        call.session,
        current_password=b.currentPassword,
        new_password=b.newPassword,
        revoke_other_sessions=b.revokeOtherSessions,
        client=call.client,
    )
    token = None
    if result.new_session is not None:
        call.set_session_cookie(result.new_session.token, remember=not call.dont_remember())
        token = result.new_session.token
    return call.json({"token": token, "user": user_json(call, result.user)})


async def change_email(call: Call) -> Response:
    b: s.ChangeEmailBody = call.body
    await account.change_email(
        call.ctx, call.user, b.newEmail, b.callbackURL, call.session, password=b.password, client=call.client
    )
    return call.json({"status": True})


async def delete_user(call: Call) -> Response:
    b: s.DeleteUserBody = call.body
    deleted = await account.delete_user(
        call.ctx,
        call.user,
        call.session,
        password=b.password,
        token=b.token,
        callback_url=b.callbackURL,
        confirm_by_email=call.ctx.settings.user.delete_confirm_by_email,
        client=call.client,
    )
    if not deleted:
        return call.json({"success": True, "message": "Verification email sent"})
    call.clear_session_cookies()
    return call.json({"success": True, "message": "User deleted"})


async def delete_user_callback(call: Call) -> Response:
    if call.resolved is None:
        raise errors.AuthError(errors.FAILED_TO_GET_USER_INFO)
    token = call.query("token") or ""
    try:
        await account.consume_delete_token(call.ctx, call.user, token, call.client)
    except errors.AuthError as exc:
        raise exc.with_status(404) from None
    call.clear_session_cookies()
    callback = call.query("callbackURL")
    if callback:
        return call.redirect(callback)
    return call.json({"success": True, "message": "User deleted"})


async def list_accounts(call: Call) -> Response:
    accounts = await account.list_accounts(call.ctx, call.user)
    return call.json([a.to_json() for a in accounts])


async def unlink_account(call: Call) -> Response:
    b: s.UnlinkAccountBody = call.body
    await account.unlink_account(call.ctx, call.user, b.accountId)
    return call.json({"status": True})


# -- email verification -----------------------------------------------------------------
async def send_verification_email(call: Call) -> Response:
    b: s.EmailBody = call.body
    signed_in = call.resolved.user if call.resolved else None
    await verify_email.request_verification(call.ctx, b.email, b.callbackURL, signed_in)
    return call.json({"status": True})


async def verify_email_link(call: Call) -> Response:
    token = call.query("token") or ""
    callback = call.query("callbackURL")
    try:
        result = await verify_email.verify(call.ctx, token, call.client)
    except errors.AuthError as exc:
        if callback:
            return call.redirect(with_query(callback, error=exc.code))
        if exc.code == "INVALID_TOKEN":
            raise errors.AuthError(errors.INVALID_TOKEN, status=401) from None
        raise
    ep = call.ctx.settings.email_password
    # A link signs in at most once, and only the use that verified the address: later uses
    # (or a link for an address already verified) are not login links.
    if ep.auto_sign_in_after_verification and result.newly_verified:
        signed = await sign_in.sign_in_by_link(call.ctx, result.user, call.client, "email-verification")
        if signed is not None:
            call.set_session_cookie(signed.session.token)
    if callback:
        return call.redirect(callback)
    return call.json({"status": True, "user": user_json(call, result.user) if result.changed_email else None})


# -- password reset ---------------------------------------------------------------------
async def request_password_reset(call: Call) -> Response:
    b: s.RequestResetBody = call.body
    await reset_password.request_reset(call.ctx, b.email, b.redirectTo)
    return call.json(
        {"status": True, "message": "If this email exists in our system, check your email for the reset link"}
    )


async def reset_password_link(call: Call) -> Response:
    token = call.path.rsplit("/", 1)[-1]
    callback = call.query("callbackURL") or ""
    target = urljoin(call.ctx.settings.base_url, callback or "/")
    if not await reset_password.token_is_valid(call.ctx, token):
        return call.redirect(with_query(target, error="INVALID_TOKEN"))
    return call.redirect(with_query(target, token=token))


async def reset_password_post(call: Call) -> Response:
    b: s.ResetPasswordBody = call.body
    token = b.token or call.query("token") or ""
    await reset_password.reset_password(call.ctx, token, b.newPassword, call.client)
    return call.json({"status": True})


# -- misc -------------------------------------------------------------------------------
async def ok(call: Call) -> Response:
    return call.json({"ok": True})


async def social_sign_in(call: Call) -> Response:
    """No social provider is configured (social sign-in comes later): the spec's answer."""
    raise errors.AuthError(errors.PROVIDER_NOT_FOUND)


async def oauth_callback(call: Call) -> Response:
    return call.redirect(f"{call.ctx.settings.api_url}/error?error=oauth_provider_not_found")


async def provider_tokens(call: Call) -> Response:
    """get-access-token and refresh-token: the selected account's provider would answer; no
    social provider is configured yet, so every account answers PROVIDER_NOT_SUPPORTED."""
    await account.provider_account(call.ctx, call.user, call.raw)
    raise errors.AuthError(errors.PROVIDER_NOT_SUPPORTED)  # pragma: no cover - needs a provider


async def account_info(call: Call) -> Response:
    """The provider's user info for the selected account (selector in the query)."""
    selection: dict[str, Any] = dict(call.request.query_params)
    if "useAccountCookie" in selection:
        selection["useAccountCookie"] = selection["useAccountCookie"] == "true" or selection["useAccountCookie"]
    await account.provider_account(call.ctx, call.user, selection, missing=errors.PROVIDER_NOT_CONFIGURED)
    raise errors.AuthError(errors.PROVIDER_NOT_CONFIGURED)  # pragma: no cover - needs a provider


async def error_page(call: Call) -> Response:
    import html
    import re

    code = call.query("error") or "UNKNOWN"
    if not re.fullmatch(r"[A-Za-z0-9_'-]{1,100}", code):
        code = "UNKNOWN"
    name = html.escape(call.ctx.settings.app_name)
    page = (
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport "
        "content='width=device-width,initial-scale=1'><title>Sign-in error</title></head>"
        "<body style='font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem'>"
        f"<h1>Something went wrong</h1><p>{name} could not complete the request.</p>"
        f"<p>Error code: <code>{html.escape(code)}</code></p><p><a href='/'>Back</a></p></body></html>"
    )
    return Response(page, media_type="text/html; charset=utf-8")


def core_endpoints() -> list[Endpoint]:
    E = Endpoint
    return [
        E("POST", "/sign-up/email", sign_up_email, s.SignUpBody, form=True, login_csrf=True, statuses=(422,)),
        E("POST", "/sign-in/email", sign_in_email, s.SignInBody, form=True, login_csrf=True, statuses=(401,)),
        E("POST", "/sign-in/social", social_sign_in, statuses=(404,)),
        E("POST", "/link-social", social_sign_in, auth="session", statuses=(404,)),
        E("POST", "/sign-out", sign_out, s.SignOutBody, auth="optional"),
        E("GET", "/get-session", get_session, auth="optional", query=("disableRefresh", "disableCookieCache")),
        E("POST", "/get-session", post_get_session, statuses=(405,)),
        E("GET", "/list-sessions", list_sessions, auth="fresh"),
        E("POST", "/revoke-session", revoke_session, s.TokenBody, auth="session"),
        E("POST", "/revoke-sessions", revoke_sessions, auth="session"),
        E("POST", "/revoke-other-sessions", revoke_other_sessions, auth="session"),
        E("POST", "/update-session", update_session, auth="session"),
        E("POST", "/update-user", update_user, s.UpdateUserBody, auth="session"),
        E("POST", "/verify-password", verify_password, s.PasswordBody, auth="session"),
        E("POST", "/change-password", change_password, s.ChangePasswordBody, auth="session"),
        E("POST", "/change-email", change_email, s.ChangeEmailBody, auth="session"),
        E("POST", "/delete-user", delete_user, s.DeleteUserBody, auth="session", statuses=(404,)),
        E(
            "GET",
            "/delete-user/callback",
            delete_user_callback,
            auth="optional",
            query=("token", "callbackURL"),
            statuses=(200, 302, 404),
        ),
        E("GET", "/list-accounts", list_accounts, auth="session"),
        E("POST", "/unlink-account", unlink_account, s.UnlinkAccountBody, auth="fresh"),
        E("POST", "/send-verification-email", send_verification_email, s.EmailBody, auth="optional"),
        E("GET", "/verify-email", verify_email_link, query=("token", "callbackURL"), statuses=(200, 302, 401, 422)),
        E("POST", "/request-password-reset", request_password_reset, s.RequestResetBody),
        E("POST", "/reset-password", reset_password_post, s.ResetPasswordBody, query=("token",)),
        E("GET", "/reset-password/{token}", reset_password_link, query=("callbackURL",), statuses=(302,)),
        E("GET", "/callback/{id}", oauth_callback, statuses=(302,)),
        E("POST", "/callback/{id}", oauth_callback, form=True, statuses=(302,)),
        E("POST", "/refresh-token", provider_tokens, auth="session"),
        E("POST", "/get-access-token", provider_tokens, auth="session"),
        E("GET", "/account-info", account_info, auth="session", query=("accountId", "useAccountCookie", "userId")),
        E("GET", "/ok", ok),
        E("GET", "/error", error_page, query=("error",)),
    ]
