"""Emailed one-time codes (Better Auth's ``otp`` second factor): sending one to the user's
address and checking it, counted and single-use."""

from __future__ import annotations

from datetime import timedelta

from ...core import errors, words
from ...core.context import AuthContext
from ...core.crypto import keys
from ...core.crypto.random import generate_id
from ...core.mail import Message, code_message
from ...core.models import ClientInfo
from ...flows import sessions
from . import challenge
from . import errors as tf_errors
from .constants import OTP_DIGITS, OTP_PREFIX
from .flows import Passed, Prover, _clean, _set_enabled, _through_challenge
from .schema import ENABLED
from .settings import TwoFactorSettings


def _otp_digest(secret: str, identifier: str, code: str) -> str:
    # Keyed (with the mailed-code key derived from the secret), so a database reader cannot
    # try the 10^6 codes offline.
    return keys.mac(secret, keys.MAILED_CODE, f"{identifier}:{code}")


def _otp_message(ctx: AuthContext, to: str, code: str) -> Message:
    app = ctx.settings.app_name
    lifetime = words.duration(ctx.settings.section(TwoFactorSettings).otp_expires_in)
    return code_message(
        app=app,
        to=to,
        subject=f"Your {app} verification code",
        intro="Use this code to finish signing in:",
        code=code,
        outro=f"It expires in {lifetime} and works once. If you did not try to sign in, "
        "someone knows your password: change it.",
    )


async def _otp_allowed(ctx: AuthContext, prover: Prover) -> bool:
    """Refuse emailed codes to a user who did not enrol them (OTP_NOT_ENABLED, before any mail,
    attempt or lockout try): stricter than Better Auth, which mails a code to every two-factor
    user. True when this code turns two-factor on: signed in with it off, Better Auth's way to
    turn it on by email (which enrols emailed codes)."""
    if prover.challenge is None and not prover.user.extra.get(ENABLED):
        return True
    if "otp" not in await challenge.methods_for(ctx, prover.user):
        raise errors.AuthError(tf_errors.OTP_NOT_ENABLED)
    return False


async def send_otp(ctx: AuthContext, prover: Prover) -> None:
    """Mail a fresh code (the previous one for the same sign-in or session stops working)."""
    await _otp_allowed(ctx, prover)
    identifier = OTP_PREFIX + prover.otp_key
    code = generate_id(OTP_DIGITS, "0123456789")
    expires = ctx.now() + timedelta(seconds=ctx.settings.section(TwoFactorSettings).otp_expires_in)
    async with ctx.store.transaction() as tx:
        await tx.consume_verification(identifier, ctx.now())
        await tx.create_verification(identifier, f"{_otp_digest(ctx.settings.secret, identifier, code)}:0", expires)
    ctx.mail.send(_otp_message(ctx, prover.user.email, code))


async def _use_otp(ctx: AuthContext, identifier: str, code: str) -> bool:
    """Count a try on the mailed code (it dies after ``otp_max_attempts`` wrong ones), then
    check it; a right code is consumed."""
    store = ctx.store
    limit = ctx.settings.section(TwoFactorSettings).otp_max_attempts
    for _ in range(limit + 2):
        row = await store.find_verification(identifier, ctx.now())
        if row is None:
            raise errors.AuthError(tf_errors.OTP_HAS_EXPIRED)
        digest, _, tries = row.value.rpartition(":")
        used = int(tries) if tries.isdigit() else limit
        if used >= limit:
            await store.consume_verification(identifier, ctx.now())
            raise errors.AuthError(tf_errors.TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE)
        if await store.swap_verification_value(identifier, row.value, f"{digest}:{used + 1}"):
            break
    else:  # pragma: no cover - each lost swap is another request's counted try
        raise errors.AuthError(tf_errors.TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE)
    given = _clean(code)
    if not keys.matches(ctx.secrets, keys.MAILED_CODE, f"{identifier}:{given}", digest):
        return False
    consumed = await store.consume_verification(identifier, ctx.now())
    return consumed is not None and consumed.value.rpartition(":")[0] == digest


async def verify_otp(
    ctx: AuthContext, prover: Prover, code: str, *, client: ClientInfo, trust: bool = False, remember: bool = True
) -> Passed:
    activating = await _otp_allowed(ctx, prover)
    identifier = OTP_PREFIX + prover.otp_key
    if await ctx.store.find_verification(identifier, ctx.now()) is None:
        raise errors.AuthError(tf_errors.OTP_HAS_EXPIRED)

    async def check() -> bool:
        return await _use_otp(ctx, identifier, code)

    if prover.challenge is not None:
        return await _through_challenge(
            ctx, prover.challenge, check, tf_errors.INVALID_CODE, factor="otp", client=client, trust=trust
        )
    assert prover.session is not None
    if activating:  # Better Auth: a verified emailed code turns two-factor on
        sessions.forbid_delegated(ctx, prover.session)
    if not await check():
        raise errors.AuthError(tf_errors.INVALID_CODE)
    if not activating:
        return Passed(prover.user, prover.session.token, remember=remember)
    user, new = await _set_enabled(ctx, prover.user, prover.session, client, remember, "otp", only_if_off=True)
    return Passed(user, new.token, new, remember)
