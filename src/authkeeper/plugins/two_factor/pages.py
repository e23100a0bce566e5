"""The plugin's pages: the challenge after the password (authenticator code, emailed code,
backup code, trust this device), and on the account pages the set-up, backup codes and turning
it off (a card on the security page, and a warning above the profile when backup codes run out).

Every rule is the plugin's (:mod:`.flows`); the cookies are set by the same helpers as its
endpoints use. The pages app serves them because the factory declares them (``pages=``,
``page_sections=``, ``templates=``: the ``templates/two_factor/`` folder here).
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from starlette.responses import Response

from ...core import errors
from ...pages.account import security_page
from ...pages.messages import FORM
from ...pages.page import Form, Page
from ...pages.routes import Route, Section, get, post
from . import backup_codes as codes
from . import challenge, flows, otp
from .challenge import Challenge, ChallengeGone
from .constants import TWO_FACTOR_COOKIE
from .endpoints import apply_disable, apply_pass
from .qr import qr_svg
from .schema import ENABLED
from .settings import TwoFactorSettings
from .store import plugin_store

CHALLENGE = Form("challenge", ("code",))
ACTIVATE = Form("activate", ("code",))
ENABLE = Form("two-factor-enable", ("tf_password",))
CODES = Form("two-factor-codes", ("codes_password",))
DISABLE = Form("two-factor-disable", ("off_password",))

_VERIFY_PATHS = {
    "totp": "/two-factor/verify-totp",
    "otp": "/two-factor/verify-otp",
    "backup": "/two-factor/verify-backup-code",
}


def masked(email: str) -> str:
    """``a•••@example.com``: enough to recognise one's address, not to learn it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


async def _challenge(page: Page) -> Challenge:
    cookie = page.call.request.cookies.get(page.call.cookies.name(TWO_FACTOR_COOKIE))
    return await challenge.load_challenge(page.ctx, cookie)


def _expired(page: Page, exc: errors.AuthError | None = None) -> Response:
    page.call.delete_cookie(TWO_FACTOR_COOKIE)
    spent = exc is not None and exc.code == "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE"
    return page.redirect(page.url("/sign-in", next=page.safe_next()), "too-many-codes" if spent else "sign-in-expired")


# -- the challenge -------------------------------------------------------------------------
async def challenge_form(page: Page) -> Response:
    try:
        found = await _challenge(page)
    except ChallengeGone:
        return _expired(page)
    return page.render("two_factor/challenge.html", **await _challenge_context(page, found, None))


async def _challenge_context(page: Page, found: Challenge, method: str | None) -> dict[str, Any]:
    """What the challenge page shows: exactly the user's methods (``challenge.methods_of``),
    and backup codes if they have a set; ``method``'s form open (None: the one the query asks
    for), if this user has it, else the app's, the emailed code's or the backup code's."""
    record = await plugin_store(page.ctx.store).get_two_factor(found.user.id)
    methods = challenge.methods_of(found.user, record)
    if record is not None:
        methods = [*methods, "backup"]
    if method is None:
        method = page.query("method")
    if method not in methods:
        method = next((m for m in ("totp", "otp") if m in methods), "backup")
    return {
        "method": method,
        "methods": methods,
        "email": masked(found.user.email),
        "next": page.safe_next(),
        "trust_days": page.ctx.settings.section(TwoFactorSettings).trust_device_max_age // 86400,
        # After "Email me a code" the page is shown again (``notice=code-sent``): now it resends.
        "code_sent": page.query("notice") == "code-sent",
    }


async def challenge_submit(page: Page) -> Response:
    method = page.form.get("method", "")
    if method not in _VERIFY_PATHS:
        method = "totp"
    trust = page.flag("trust")
    try:
        await page.limit(_VERIFY_PATHS[method])
    except errors.AuthError as limited:  # the form again, with the wait (the challenge read only to show it)
        try:
            found = await _challenge(page)
        except ChallengeGone:
            return _expired(page)
        return page.fail(
            "two_factor/challenge.html", limited, CHALLENGE, **await _challenge_context(page, found, method)
        )
    try:
        found = await _challenge(page)
    except ChallengeGone:
        return _expired(page)
    prover = flows.Prover(found.user, challenge=found)
    client = page.call.client
    try:
        code = page.text("code", 64)
        if method == "totp":
            passed = await flows.verify_totp(page.ctx, prover, code, client=client, trust=trust)
        elif method == "otp":
            passed = await otp.verify_otp(page.ctx, prover, code, client=client, trust=trust)
        else:
            passed = await flows.verify_backup_code(page.ctx, prover, code, client=client, trust=trust)
    except ChallengeGone as exc:
        return _expired(page, exc)
    except errors.AuthError as exc:
        return page.fail("two_factor/challenge.html", exc, CHALLENGE, **await _challenge_context(page, found, method))
    apply_pass(page.call, prover, passed)
    return page.redirect(page.next_url())


async def send_code(page: Page) -> Response:
    try:
        await page.limit("/two-factor/send-otp")
    except errors.AuthError as limited:
        try:
            found = await _challenge(page)
        except ChallengeGone:
            return _expired(page)
        return page.fail("two_factor/challenge.html", limited, CHALLENGE, **await _challenge_context(page, found, None))
    try:
        found = await _challenge(page)
    except ChallengeGone:
        return _expired(page)
    try:
        await otp.send_otp(page.ctx, flows.Prover(found.user, challenge=found))
    except errors.AuthError as exc:  # OTP_NOT_ENABLED: no emailed codes for this user
        return page.fail("two_factor/challenge.html", exc, CHALLENGE, **await _challenge_context(page, found, None))
    return page.redirect(page.url("/two-factor", method="otp", next=page.safe_next()), "code-sent")


# -- the account's set-up ------------------------------------------------------------------
def _secret_of(uri: str) -> str:
    """The base32 key of an ``otpauth://`` URI, grouped by four for typing by hand."""
    key = parse_qs(urlsplit(uri).query).get("secret", [""])[0]
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def setup_context(uri: str, codes: list[str]) -> dict[str, Any]:
    return {"qr": qr_svg(uri), "secret_key": _secret_of(uri), "totp_uri": uri, "backup_codes": codes}


async def enable(page: Page) -> Response:
    """Start with an authenticator app (shows the QR code and the backup codes once), or
    turn on emailed codes at once."""
    method: Literal["otp", "totp"] = "otp" if page.form.get("method") == "otp" else "totp"
    try:
        await page.limit("/two-factor/enable")
        done = await flows.enable(
            page.ctx,
            page.me,
            page.my_session,
            password=page.secret("tf_password"),
            method=method,
            issuer=None,
            client=page.call.client,
            remember=not page.call.dont_remember(),
        )
    except errors.AuthError as exc:
        return await security_page(page, exc, ENABLE, aliases={"current_password": "tf_password"})
    if done.session is not None:
        page.call.set_session_cookie(done.session.token, remember=not page.call.dont_remember())
    if done.method == "otp":
        return page.redirect(page.url("/account/security"), "two-factor-on")
    assert done.totp_uri is not None
    return page.render("two_factor/setup.html", **setup_context(done.totp_uri, done.backup_codes))


async def activate(page: Page) -> Response:
    """The first code from the app turns two-factor on (the session is renewed)."""
    await page.limit("/two-factor/verify-totp")
    uri = page.form.get("totp_uri", "")
    prover = flows.Prover(page.me, session=page.my_session)
    try:
        passed = await flows.verify_totp(
            page.ctx, prover, page.text("code", 64), client=page.call.client, remember=not page.call.dont_remember()
        )
    except errors.AuthError as exc:
        if not uri.startswith("otpauth://totp/") or len(uri) > 1024:
            raise
        return page.fail("two_factor/setup.html", exc, ACTIVATE, **setup_context(uri, []))
    apply_pass(page.call, prover, passed)
    return page.redirect(page.url("/account/security"), "two-factor-on")


async def backup_codes(page: Page) -> Response:
    try:
        await page.limit("/two-factor/generate-backup-codes")
        codes = await flows.regenerate_backup_codes(
            page.ctx, page.me, page.my_session, password=page.secret("codes_password"), client=page.call.client
        )
    except errors.AuthError as exc:
        return await security_page(page, exc, CODES, aliases={"current_password": "codes_password"})
    return page.render("two_factor/backup_codes.html", backup_codes=codes)


async def disable(page: Page) -> Response:
    remember = not page.call.dont_remember()
    try:
        await page.limit("/two-factor/disable")
        _, new = await flows.disable(
            page.ctx,
            page.me,
            page.my_session,
            password=page.secret("off_password"),
            client=page.call.client,
            remember=remember,
        )
    except errors.AuthError as exc:
        return await security_page(page, exc, DISABLE, aliases={"current_password": "off_password"})
    apply_disable(page.call, new, remember)
    return page.redirect(page.url("/account/security"), "two-factor-off")


# -- on the account pages -----------------------------------------------------------------
LOW_CODES = 2
"""At this many backup codes left or fewer, the account pages warn."""


async def status(page: Page) -> dict[str, object]:
    """What the security page shows about two-factor; ``codes_left``: how many backup codes
    an authenticator-app user has left (None for others, or when the set cannot be read)."""
    record = await plugin_store(page.ctx.store).get_two_factor(page.me.id)
    methods = challenge.methods_of(page.me, record)
    enabled = bool(page.me.extra.get(ENABLED))
    left: int | None = None
    if enabled and record is not None and "totp" in methods:
        try:
            left = len(codes.open_codes(page.ctx, record.backup_codes))
        except errors.AuthError:  # TWO_FACTOR_SECRET_UNREADABLE, logged: the count is left out
            left = None
    return {"enabled": enabled, "app": "totp" in methods, "email": "otp" in methods, "codes_left": left}


async def security_section(page: Page) -> dict[str, Any]:
    return {"two_factor": await status(page)}


async def profile_section(page: Page) -> dict[str, Any]:
    """How many backup codes are left, when they are running out (else None)."""
    left = (await status(page))["codes_left"]
    return {"codes_left": left if isinstance(left, int) and left <= LOW_CODES else None}


SECTIONS = (
    Section("account/profile", "two_factor/_profile.html", profile_section),
    Section("account/security", "two_factor/_security.html", security_section, forms=(ENABLE.id, CODES.id, DISABLE.id)),
)

MESSAGES: dict[str, tuple[str, str]] = {
    "INVALID_CODE": ("code", "That code is not right. Check your app or email and try again."),
    "INVALID_BACKUP_CODE": ("code", "That backup code is not right, or it was used already."),
    "OTP_HAS_EXPIRED": ("code", "That code has expired. Send a new one."),
    "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE": ("code", "Too many wrong codes. Ask for a new code."),
    "ACCOUNT_TEMPORARILY_LOCKED": (FORM, "Too many wrong codes for this account. Try again in {wait}."),
    "INVALID_TWO_FACTOR_COOKIE": (FORM, "This sign-in has expired. Sign in again."),
    "TOTP_ALREADY_ENABLED": (FORM, "An authenticator app is already set up."),
    "TOTP_NOT_ENABLED": (FORM, "No authenticator app is set up for this account."),
    "OTP_NOT_ENABLED": (FORM, "Codes by email are not set up for this account."),
    "TWO_FACTOR_NOT_ENABLED": (FORM, "Two-factor authentication is not on."),
    "BACKUP_CODES_NOT_ENABLED": (FORM, "This account has no backup codes."),
}
"""What the pages say for the plugin's error codes (``Plugin.page_messages``)."""

NOTICES = {
    "two-factor-on": "Two-factor authentication is on.",
    "two-factor-off": "Two-factor authentication is off.",
    "code-sent": "We sent a code to your email address.",
    "sign-in-expired": "That sign-in took too long. Sign in again.",
    "too-many-codes": "Too many wrong codes. Sign in again to try once more.",
}

ROUTES: tuple[Route, ...] = (
    get("/two-factor", challenge_form),
    post("/two-factor", challenge_submit),
    post("/two-factor/send-code", send_code),
    post("/account/two-factor/enable", enable, "session"),
    post("/account/two-factor/activate", activate, "session"),
    post("/account/two-factor/backup-codes", backup_codes, "session"),
    post("/account/two-factor/disable", disable, "session"),
)
