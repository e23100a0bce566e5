"""Sign-in as a pipeline: check the password (with lockout), run the registered stages
(e.g. two-factor), and only then issue a session."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from ..core import audit, errors
from ..core.context import AuthContext
from ..core.hooks import Presented, SessionIssued
from ..core.models import Account, ClientInfo, Session, User
from ..core.passwords import check_length
from ..core.sign_in import Interruption, PendingSignIn, SignedIn
from ..core.users import is_valid_email, normalise_email
from . import sessions, verify_email

__all__ = [
    "Interruption",
    "PendingSignIn",
    "SignedIn",
    "check_password",
    "complete",
    "issue_session",
    "reauthenticate",
    "sign_in_by_link",
    "sign_in_email",
    "verify_current_password",
]


def lockout_key(email: str) -> str:
    return "sign-in:" + email


async def _locked_for(ctx: AuthContext, key: str) -> tuple[int, bool]:
    """Seconds until ``key`` may try again, counting this attempt (0: it may try now), and
    whether this attempt is the one that locked it."""
    lo = ctx.settings.lockout
    if not lo.enabled:
        return 0, False
    count, started = await ctx.store.record_failure(key, ctx.now(), lo.window)
    if count <= lo.max_failures:
        return 0, False
    left = (started + timedelta(seconds=lo.window) - ctx.now()).total_seconds()
    return max(1, math.ceil(left)), count == lo.max_failures + 1


async def _failed(ctx: AuthContext, email: str, user: User | None, client: ClientInfo | None, code: str) -> None:
    # The attempted email is kept only when well-formed: a mistyped password never lands here.
    details: dict[str, Any] = {"reason_code": code}
    if is_valid_email(email):
        details["email"] = email
    await audit.record(
        ctx.store, audit.Event.SIGN_IN_FAILED, user_id=user.id if user else None, client=client, **details
    )


async def _counted_check(
    ctx: AuthContext,
    email: str,
    user: User | None,
    stored: str | None,
    password: str,
    client: ClientInfo | None,
    failed: Callable[[str], Awaitable[None]],
    wrong: errors.ErrorCode,
) -> None:
    """The one lockout-counted password check behind sign-in and every signed-in password
    confirmation: the attempt counts against ``lockout_key(email)`` *before* the hash is
    checked, so concurrent guesses cannot exceed the limit. A locked email answers
    ACCOUNT_LOCKED (``Retry-After``) even to the right password, and the attempt that locked
    it writes ``account-locked``; a mismatch (or no ``stored`` hash: one is burnt for the
    timing) raises ``wrong``. ``failed(reason_code)`` writes each failure's audit row; a
    success clears the count."""
    key = lockout_key(email)
    wait, just_locked = await _locked_for(ctx, key)
    if wait:
        if just_locked:
            await audit.record(
                ctx.store,
                audit.Event.ACCOUNT_LOCKED,
                user_id=user.id if user else None,
                client=client,
                email=email,
                retry_after=wait,
            )
        await failed(errors.ACCOUNT_LOCKED.code)
        raise errors.AuthError(errors.ACCOUNT_LOCKED, retry_after=wait, data={"retryAfter": wait})
    if stored is None:
        await ctx.hasher.burn(password)
        matched = False
    else:
        matched = await ctx.hasher.verify(stored, password)
    if not matched:
        await failed(wrong.code)
        raise errors.AuthError(wrong)
    if ctx.settings.lockout.enabled:
        await ctx.store.clear_failures(key)


async def check_password(
    ctx: AuthContext, email: str, password: str, client: ClientInfo | None = None
) -> tuple[User, Account]:
    """The user whose password this is, or INVALID_EMAIL_OR_PASSWORD / ACCOUNT_LOCKED.

    Counted in the lockout (:func:`_counted_check`); unknown emails are counted and hashed
    the same way, so the answer and its timing reveal nothing.
    """
    if not ctx.settings.email_password.enabled:
        raise errors.AuthError(errors.EMAIL_PASSWORD_DISABLED)
    email = normalise_email(email)
    if not is_valid_email(email):
        raise errors.AuthError(errors.INVALID_EMAIL)
    check_length(ctx.settings.password, password)
    user = await ctx.store.find_user_by_email(email)
    account = await ctx.store.find_account(user.id, "credential") if user else None
    stored = account.password if account is not None and account.password else None

    async def failed(code: str) -> None:
        await _failed(ctx, email, user, client, code)

    await _counted_check(ctx, email, user, stored, password, client, failed, errors.INVALID_EMAIL_OR_PASSWORD)
    assert user is not None and account is not None and account.password
    if ctx.settings.password.rehash_legacy and ctx.hasher.needs_rehash(account.password):
        await ctx.store.update_account_password(account.id, await ctx.hasher.hash(password))
    return user, account


async def verify_current_password(
    ctx: AuthContext, user: User, password: str, *, client: ClientInfo | None, endpoint: str
) -> Account:
    """For signed-in users confirming it is them (``endpoint``: the action, e.g.
    ``verify-password``): the same lockout-counted check as sign-in, in the same count, so a
    stolen session is no password oracle. INVALID_PASSWORD on a mismatch, ACCOUNT_LOCKED
    while locked (even for the right password); each failure is audited as
    ``password-check-failed``."""
    check_length(ctx.settings.password, password)
    account = await ctx.store.find_account(user.id, "credential")
    if account is None or not account.password:
        raise errors.AuthError(errors.CREDENTIAL_ACCOUNT_NOT_FOUND)

    async def failed(code: str) -> None:
        await audit.record(
            ctx.store,
            audit.Event.PASSWORD_CHECK_FAILED,
            user_id=user.id,
            client=client,
            endpoint=endpoint,
            reason_code=code,
        )

    await _counted_check(
        ctx, normalise_email(user.email), user, account.password, password, client, failed, errors.INVALID_PASSWORD
    )
    return account


async def complete(ctx: AuthContext, pending: PendingSignIn) -> SignedIn | Interruption:
    """Run the stages; issue the session when none interrupts."""
    for stage in ctx.sign_in_stages:
        interruption = await stage(ctx, pending)
        if interruption is not None:
            return interruption
    return await issue_session(ctx, pending)


async def reauthenticate(
    ctx: AuthContext, current: Session, user: User, password: str, client: ClientInfo, *, remember: bool
) -> Session:
    """A fresh session in place of ``current`` for a signed-in user who gave their password
    again (for actions that need a fresh session). The password attempt counts in the lockout
    like any sign-in; the session already passed every stage, so none runs again."""
    user, _ = await check_password(ctx, user.email, password, client)
    async with ctx.store.transaction() as tx:
        extra = {k: v for k, v in current.extra.items() if v is not None}
        session = await sessions.create_session(ctx, user, client, remember=remember, extra=extra, store=tx)
        await tx.delete_session(current.token)
        await audit.record(tx, audit.Event.SIGN_IN, user_id=user.id, client=client, method="reauthentication")
    await ctx.hooks.emit(ctx, SessionIssued(user.id, session.id, "reauthentication"))
    return session


async def sign_in_by_link(ctx: AuthContext, user: User, client: ClientInfo, method: str) -> SignedIn | None:
    """A session for a user who proved control of their mailbox (auto sign-in after email
    verification), through the same stages as a password sign-in: a banned user or one with
    a second factor gets no session here (None) and signs in the usual way."""
    try:
        result = await complete(ctx, PendingSignIn(user=user, client=client, method=method, interactive=False))
    except errors.AuthError:
        return None
    return result if isinstance(result, SignedIn) else None


async def issue_session(ctx: AuthContext, pending: PendingSignIn, **details: Any) -> SignedIn:
    """The session at the end of a sign-in, with its audit row in the same transaction."""
    async with ctx.store.transaction() as tx:
        session = await sessions.create_session(ctx, pending.user, pending.client, remember=pending.remember, store=tx)
        await audit.record(
            tx, audit.Event.SIGN_IN, user_id=pending.user.id, client=pending.client, method=pending.method, **details
        )
    await ctx.hooks.emit(ctx, SessionIssued(pending.user.id, session.id, pending.method))
    return SignedIn(pending.user, session, dict(pending.state))


async def sign_in_email(
    ctx: AuthContext,
    *,
    email: str,
    password: str,
    client: ClientInfo,
    remember: bool = True,
    callback_url: str | None = None,
    presented: Presented | None = None,
) -> SignedIn | Interruption:
    user, _ = await check_password(ctx, email, password, client)
    ep = ctx.settings.email_password
    if ep.require_email_verification and not user.email_verified:
        if ep.send_verification_on_sign_in:
            verify_email.send_verification(ctx, user, callback_url)
        await _failed(ctx, user.email, user, client, errors.EMAIL_NOT_VERIFIED.code)
        raise errors.AuthError(errors.EMAIL_NOT_VERIFIED)
    pending = PendingSignIn(user=user, client=client, remember=remember)
    if presented is not None:
        pending.presented = presented
    return await complete(ctx, pending)
