"""The sign-in side of two-factor: the challenge a 2FA user gets instead of a session,
its attempt budget, the per-user lockout, and trusted devices.

A challenge is Better Auth's pair of verification rows, ``2fa-<20 chars>`` → user id and
``2fa-attempts-2fa-<20 chars>`` → wrong codes so far, plus authkeeper's
``2fa-options-…`` row remembering the pending sign-in's remember-me. The challenge id
travels in the signed ``two_factor`` cookie. No session exists until a factor passes.
"""

from __future__ import annotations

import hmac
import json
import math
from dataclasses import dataclass
from datetime import timedelta

from ...core import errors
from ...core.context import AuthContext
from ...core.crypto.random import URL_SAFE, generate_id
from ...core.crypto.signing import mac_b64url
from ...core.hooks import SessionsEnding, SigningOut
from ...core.models import User, Verification
from ...core.ports import Store
from ...core.sign_in import Interruption, PendingSignIn
from . import errors as tf_errors
from .constants import (
    ATTEMPTS_PREFIX,
    CHALLENGE_ID_LENGTH,
    CHALLENGE_PREFIX,
    LOCKOUT_MAX_FAILURES,
    LOCKOUT_SECONDS,
    OPTIONS_PREFIX,
    OTP_PREFIX,
    TRUST_DEVICE_COOKIE,
    TRUST_ID_LENGTH,
    TRUST_PREFIX,
    TWO_FACTOR_COOKIE,
)
from .schema import ENABLED
from .settings import TwoFactorSettings
from .store import TwoFactorRecord, plugin_store


class ChallengeGone(errors.AuthError):
    """The challenge is unknown, expired or spent: the ``two_factor`` cookie is useless now."""


@dataclass(slots=True)
class Challenge:
    id: str
    user: User
    remember: bool = True
    method: str = "email"


# -- the sign-in stage --------------------------------------------------------------------
async def sign_in_stage(ctx: AuthContext, pending: PendingSignIn) -> Interruption | None:
    """Challenge a user with two-factor on, unless the browser is a trusted device."""
    user = pending.user
    if not user.extra.get(ENABLED):
        return None
    if not pending.interactive:
        return Interruption(body={})  # no one to answer a challenge: no session, no challenge rows
    presented = pending.presented(TRUST_DEVICE_COOKIE)
    if presented:
        rotated = await redeem_trusted_device(ctx, user.id, presented)
        if rotated is not None:
            pending.state[TRUST_DEVICE_COOKIE] = (rotated, ctx.settings.section(TwoFactorSettings).trust_device_max_age)
            return None
    return await open_challenge(ctx, pending)


def methods_of(user: User, record: TwoFactorRecord | None) -> list[str]:
    """The second factors the user enrolled (backup codes aside), from their two-factor flag
    and row: ``totp`` for an activated authenticator app; ``otp`` (emailed codes) when two-factor
    is on without one, or when the app's row records that they were enrolled too
    (``otpEnabled``, authkeeper's). Stricter than Better Auth, which offers emailed codes to
    every two-factor user: a mailbox must not walk past an authenticator app. A row Better Auth
    wrote has no ``otpEnabled``: there an activated app means the app alone, and two-factor on
    without one means emailed codes (Better Auth's ``method: "otp"`` writes no row)."""
    if not user.extra.get(ENABLED):
        return []
    if record is None or not record.verified:
        return ["otp"]
    return ["totp", "otp"] if record.otp_enabled else ["totp"]


async def methods_for(ctx: AuthContext, user: User) -> list[str]:
    """:func:`methods_of` the user, reading their two-factor row."""
    return methods_of(user, await plugin_store(ctx.store).get_two_factor(user.id))


async def open_challenge(ctx: AuthContext, pending: PendingSignIn) -> Interruption:
    s = ctx.settings.section(TwoFactorSettings)
    challenge_id = CHALLENGE_PREFIX + generate_id(CHALLENGE_ID_LENGTH, URL_SAFE)
    expires = ctx.now() + timedelta(seconds=s.challenge_expires_in)
    options = json.dumps({"remember": pending.remember, "method": pending.method}, separators=(",", ":"))
    async with ctx.store.transaction() as tx:
        await tx.create_verification(challenge_id, pending.user.id, expires)
        await tx.create_verification(ATTEMPTS_PREFIX + challenge_id, "0", expires)
        await tx.create_verification(OPTIONS_PREFIX + challenge_id, options, expires)
    return Interruption(
        body={"twoFactorRedirect": True, "twoFactorMethods": await methods_for(ctx, pending.user)},
        state={TWO_FACTOR_COOKIE: (challenge_id, s.challenge_expires_in)},
        page="/two-factor",
    )


# -- using a challenge --------------------------------------------------------------------
async def load_challenge(ctx: AuthContext, signed_cookie: str | None) -> Challenge:
    """The live challenge named by the ``two_factor`` cookie, or INVALID_TWO_FACTOR_COOKIE."""
    challenge_id = ctx.signer.unsign(signed_cookie)
    if not challenge_id or not challenge_id.startswith(CHALLENGE_PREFIX):
        raise ChallengeGone(tf_errors.INVALID_TWO_FACTOR_COOKIE)
    now = ctx.now()
    row = await ctx.store.find_verification(challenge_id, now)
    user = await ctx.store.find_user_by_id(row.value) if row is not None else None
    if user is None:
        raise ChallengeGone(tf_errors.INVALID_TWO_FACTOR_COOKIE)
    challenge = Challenge(challenge_id, user)
    options = await ctx.store.find_verification(OPTIONS_PREFIX + challenge_id, now)
    if options is not None:  # absent for a challenge Better Auth opened: its defaults apply
        try:
            data = json.loads(options.value)
            challenge.remember = bool(data.get("remember", True))
            challenge.method = str(data.get("method", "email"))
        except (ValueError, AttributeError):
            pass
    return challenge


async def count_attempt(ctx: AuthContext, challenge: Challenge) -> None:
    """Spend one of the challenge's attempts *before* the code is checked, so concurrent
    guesses cannot exceed the budget. Past the budget the challenge dies."""
    store = ctx.store
    identifier = ATTEMPTS_PREFIX + challenge.id
    limit = ctx.settings.section(TwoFactorSettings).challenge_max_attempts
    # Each lost swap follows another request's successful count, so this ends within
    # ``limit`` rounds: then the budget is seen spent.
    for _ in range(limit + 2):
        row = await store.find_verification(identifier, ctx.now())
        if row is None:
            raise ChallengeGone(tf_errors.INVALID_TWO_FACTOR_COOKIE)
        used = int(row.value) if row.value.isdigit() else limit
        if used >= limit:
            await discard_challenge(ctx, challenge.id)
            raise ChallengeGone(tf_errors.TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE)
        if await store.swap_verification_value(identifier, row.value, str(used + 1)):
            return
    raise ChallengeGone(tf_errors.TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE)  # pragma: no cover


async def close_challenge(ctx: AuthContext, challenge: Challenge) -> None:
    """Consume the challenge and its rows, in one transaction; of concurrent winners only one
    gets past this."""
    async with ctx.store.transaction() as tx:
        consumed = await _remove_rows(ctx, tx, challenge.id)
    if consumed is None or consumed.value != challenge.user.id:
        raise ChallengeGone(tf_errors.INVALID_TWO_FACTOR_COOKIE)


async def discard_challenge(ctx: AuthContext, challenge_id: str) -> None:
    """Remove every row of a challenge (on exhaustion and sign-out)."""
    async with ctx.store.transaction() as tx:
        await _remove_rows(ctx, tx, challenge_id)


async def _remove_rows(ctx: AuthContext, tx: Store, challenge_id: str) -> Verification | None:
    """Delete the challenge's rows; the challenge row itself, if it was still there."""
    now = ctx.now()
    found = await tx.consume_verification(challenge_id, now)
    for prefix in (ATTEMPTS_PREFIX, OPTIONS_PREFIX, OTP_PREFIX):
        await tx.consume_verification(prefix + challenge_id, now)
    return found


# -- lockout across challenges and factors -------------------------------------------------
def _lock_key(user_id: str) -> str:
    return "two-factor:" + user_id


async def spend_try(ctx: AuthContext, user_id: str) -> None:
    """Count this code attempt against the user *before* the code is checked, so concurrent
    guesses on several challenges cannot exceed the limit; past it, ACCOUNT_TEMPORARILY_LOCKED.
    A code that passes clears the count (:func:`clear_failures`)."""
    count, started = await ctx.store.record_failure(_lock_key(user_id), ctx.now(), LOCKOUT_SECONDS)
    if count <= LOCKOUT_MAX_FAILURES:
        return
    left = (started + timedelta(seconds=LOCKOUT_SECONDS) - ctx.now()).total_seconds()
    wait = str(max(1, math.ceil(left)))
    raise errors.AuthError(tf_errors.ACCOUNT_TEMPORARILY_LOCKED, retry_after=int(wait))


async def clear_failures(ctx: AuthContext, user_id: str) -> None:
    await ctx.store.clear_failures(_lock_key(user_id))


# -- trusted devices ----------------------------------------------------------------------
def _trust_mac(secret: str, user_id: str, trust_id: str) -> str:
    return mac_b64url(secret, f"{user_id}!{trust_id}")


async def trust_device(ctx: AuthContext, user_id: str) -> str:
    """A new trusted-device record; returns the ``trust_device`` cookie value (to be signed):
    ``<base64url HMAC-SHA256(secret, "<userId>!<trustId>")>!<trustId>``."""
    trust_id = TRUST_PREFIX + generate_id(TRUST_ID_LENGTH, URL_SAFE)
    lifetime = ctx.settings.section(TwoFactorSettings).trust_device_max_age
    await ctx.store.create_verification(trust_id, user_id, ctx.now() + timedelta(seconds=lifetime))
    return f"{_trust_mac(ctx.settings.secret, user_id, trust_id)}!{trust_id}"


async def redeem_trusted_device(ctx: AuthContext, user_id: str, value: str) -> str | None:
    """If the trusted-device cookie's (unsigned) ``value`` names a live trusted device of this
    user, spend it and return the rotated cookie value; otherwise None (a challenge follows)."""
    if not value:
        return None
    mac, sep, trust_id = value.partition("!")
    if not sep or not trust_id.startswith(TRUST_PREFIX):
        return None
    given = mac.encode()
    if not any(hmac.compare_digest(_trust_mac(s, user_id, trust_id).encode(), given) for s in ctx.secrets):
        return None
    # Consuming is atomic: a copied cookie works once, for whichever request comes first.
    consumed = await ctx.store.consume_verification(trust_id, ctx.now())
    if consumed is None or consumed.value != user_id:
        return None
    return await trust_device(ctx, user_id)


async def forget_user(ctx: AuthContext, store: Store, change: SessionsEnding) -> None:
    """The user's sessions are gone: so are their trusted devices and pending challenges, but
    for the trusted device of the caller who kept their session (``presented``, when they ended
    only their other sessions).

    A participant in ``SessionsEnding``: runs in the revoking transaction.
    """
    user_id, presented = change.user_id, change.presented
    kept = None
    value = presented(TRUST_DEVICE_COOKIE) if presented is not None else None
    if value:
        trust_id = value.partition("!")[2]
        if trust_id.startswith(TRUST_PREFIX):
            row = await store.find_verification(trust_id, ctx.now())
            kept = row if row is not None and row.value == user_id else None
    await store.delete_verifications(prefix=TRUST_PREFIX, value=user_id)
    await store.delete_verifications(prefix=CHALLENGE_PREFIX, value=user_id)
    if kept is not None:
        await store.create_verification(kept.identifier, user_id, kept.expires_at)


async def forget_challenge(ctx: AuthContext, store: Store, change: SigningOut) -> None:
    """Signing out also abandons a sign-in that is waiting for its second factor (a
    participant in ``SigningOut``): the challenge row goes, and so does its cookie."""
    challenge_id = change.presented(TWO_FACTOR_COOKIE)
    if challenge_id and challenge_id.startswith(CHALLENGE_PREFIX):
        await _remove_rows(ctx, store, challenge_id)
    change.clear_cookies.append(TWO_FACTOR_COOKIE)
