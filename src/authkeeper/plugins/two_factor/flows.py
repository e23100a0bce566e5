"""Two-factor business rules: enrolment, the three factors (TOTP, emailed code, backup
code), and turning it off. No HTTP here; the endpoints translate.

A factor is proven either by a signed-in user (enrolment, re-checks) or by a sign-in
waiting on its challenge (:class:`Prover`). Each TOTP step is accepted once per user
(``claim_totp_counter``), unlike Better Auth, where one code can mint several sessions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from ...core import audit, errors
from ...core.changes import UserUpdate
from ...core.context import AuthContext
from ...core.crypto import symmetric, totp
from ...core.crypto.random import generate_id
from ...core.hooks import SessionIssued, SessionsEnding
from ...core.models import ClientInfo, Session, User
from ...core.ports import Store
from ...flows import sessions
from ...flows.sign_in import PendingSignIn, issue_session, verify_current_password
from . import backup_codes, challenge
from . import errors as tf_errors
from .challenge import Challenge
from .events import TwoFactorEvent
from .schema import ENABLED
from .settings import TwoFactorSettings
from .store import TwoFactorRecord, plugin_store


@dataclass(slots=True)
class Prover:
    """Who is proving a second factor: a signed-in user, or a sign-in held by a challenge."""

    user: User
    session: Session | None = None
    challenge: Challenge | None = None

    @property
    def otp_key(self) -> str:
        if self.challenge is not None:
            return self.challenge.id
        assert self.session is not None
        return f"{self.user.id}!{self.session.id}"


@dataclass(slots=True)
class Passed:
    """A factor passed: the user, the session to put in the cookie if it changed, the
    token to answer with, and a trusted-device cookie value when one was asked for."""

    user: User
    token: str | None
    session: Session | None = None
    remember: bool = True
    trust_cookie: str | None = None


@dataclass(slots=True)
class Enabled:
    method: Literal["totp", "otp"]
    user: User
    session: Session | None = None
    totp_uri: str | None = None
    backup_codes: list[str] = field(default_factory=list)


def _issuer(ctx: AuthContext, override: str | None = None) -> str:
    return override or ctx.settings.section(TwoFactorSettings).issuer or ctx.settings.app_name


def _uri(ctx: AuthContext, user: User, record: TwoFactorRecord, issuer: str | None = None) -> str:
    s = ctx.settings.section(TwoFactorSettings)
    key = totp.secret_key(backup_codes.unseal(ctx, record.secret))
    return totp.otpauth_uri(key, issuer=_issuer(ctx, issuer), account=user.email, digits=s.digits, period=s.period)


async def _rotate(
    ctx: AuthContext, tx: Store, user: User, current: Session, client: ClientInfo, remember: bool
) -> Session:
    """A new session in place of ``current`` (after a change to how the user signs in)."""
    extra = {k: v for k, v in current.extra.items() if v is not None}
    new = await sessions.create_session(ctx, user, client, remember=remember, extra=extra, store=tx)
    await tx.delete_session(current.token)
    return new


async def _set_enabled(
    ctx: AuthContext,
    user: User,
    current: Session,
    client: ClientInfo,
    remember: bool,
    method: Literal["totp", "otp"],
    *,
    keep_otp: bool = False,
    only_if_off: bool = False,
) -> tuple[User, Session]:
    """Two-factor on with ``method`` enrolled, in one transaction (see ``challenge.methods_of``).
    ``totp`` activates the pending app, once (not a row turned off or activated meanwhile),
    recording emailed codes with it if the user had them (``keep_otp``). ``otp`` is recorded on
    the app's row if there is one (without, two-factor on means emailed codes). ``only_if_off``:
    nothing is written if two-factor came on meanwhile (OTP_NOT_ENABLED), so a request that saw
    it off cannot add emailed codes beside an app turned on since. Every write only adds."""
    changes = UserUpdate(updated_at=ctx.now(), fields={ENABLED: True})
    async with ctx.store.transaction() as tx:
        rows = plugin_store(tx)
        if method == "totp":
            values = {"verified": True, "otpEnabled": True} if keep_otp else {"verified": True}
            if not await rows.update_two_factor(user.id, values, expected={"verified": False}):
                raise errors.AuthError(tf_errors.TOTP_NOT_ENABLED)
        else:
            await rows.update_two_factor(user.id, {"otpEnabled": True})
        if only_if_off:
            updated = await tx.update_user(
                user.id, changes, expected=UserUpdate(fields={ENABLED: False})
            ) or await tx.update_user(user.id, changes, expected=UserUpdate(fields={ENABLED: None}))
            if updated is None:
                raise errors.AuthError(tf_errors.OTP_NOT_ENABLED)
        else:
            updated = await tx.update_user(user.id, changes)
        if updated is None:
            raise errors.AuthError(errors.USER_NOT_FOUND)
        new = await _rotate(ctx, tx, updated, current, client, remember)
        await audit.record(tx, TwoFactorEvent.TWO_FACTOR_ENABLED, user_id=user.id, client=client, method=method)
    await ctx.hooks.emit(ctx, SessionIssued(user.id, new.id, "two-factor-change"))
    return updated, new


# -- settings: enable, disable, URI, backup codes -----------------------------------------
async def enable(
    ctx: AuthContext,
    user: User,
    current: Session,
    *,
    password: str,
    method: Literal["totp", "otp"],
    issuer: str | None,
    client: ClientInfo,
    remember: bool,
) -> Enabled:
    """``otp``: emailed codes, on at once (the session rotates; beside an app if there is one).
    ``totp``: a new secret and backup codes, inactive until the first code is verified
    (``verify_totp`` while signed in; emailed codes the user had stay)."""
    sessions.forbid_delegated(ctx, current)
    await verify_current_password(ctx, user, password, client=client, endpoint="two-factor-enable")
    if method == "otp":
        updated, new = await _set_enabled(ctx, user, current, client, remember, "otp")
        return Enabled("otp", updated, new)
    store = plugin_store(ctx.store)
    existing = await store.get_two_factor(user.id)
    if existing is not None and existing.verified:
        raise errors.AuthError(tf_errors.TOTP_ALREADY_ENABLED)
    codes = backup_codes.generate(ctx.settings.section(TwoFactorSettings).backup_code_count)
    record = TwoFactorRecord(
        id=generate_id(),
        user_id=user.id,
        secret=symmetric.encrypt(ctx.settings.secret, totp.generate_secret()),
        backup_codes=backup_codes.seal(ctx, codes),
        verified=False,
        otp_enabled=existing is not None and existing.otp_enabled,
    )
    await store.put_two_factor(record)
    return Enabled("totp", user, totp_uri=_uri(ctx, user, record, issuer), backup_codes=codes)


async def disable(
    ctx: AuthContext, user: User, current: Session, *, password: str, client: ClientInfo, remember: bool
) -> tuple[User, Session]:
    """Turn two-factor off: the secret, backup codes and trusted devices go; the session rotates."""
    sessions.forbid_delegated(ctx, current)
    await verify_current_password(ctx, user, password, client=client, endpoint="two-factor-disable")
    async with ctx.store.transaction() as tx:
        updated = await tx.update_user(user.id, UserUpdate(updated_at=ctx.now(), fields={ENABLED: False}))
        if updated is None:
            raise errors.AuthError(errors.USER_NOT_FOUND)
        await plugin_store(tx).delete_two_factor(user.id)
        await challenge.forget_user(ctx, tx, SessionsEnding(user.id))
        new = await _rotate(ctx, tx, updated, current, client, remember)
        await audit.record(tx, TwoFactorEvent.TWO_FACTOR_DISABLED, user_id=user.id, client=client)
    await ctx.hooks.emit(ctx, SessionIssued(user.id, new.id, "two-factor-change"))
    return updated, new


async def totp_uri(
    ctx: AuthContext, user: User, current: Session, *, password: str, client: ClientInfo | None = None
) -> str:
    """The provisioning URI again (Better Auth's get-totp-uri), with the password, while the
    authenticator is being set up. Once it is active the secret is never shown again
    (``TOTP_ALREADY_ENABLED``; Better Auth shows it): to move to a new app, turn two-factor off
    and on."""
    sessions.forbid_delegated(ctx, current)
    record = await plugin_store(ctx.store).get_two_factor(user.id)
    if record is None:
        raise errors.AuthError(tf_errors.TOTP_NOT_ENABLED)
    await verify_current_password(ctx, user, password, client=client, endpoint="two-factor-get-totp-uri")
    if record.verified:
        raise errors.AuthError(tf_errors.TOTP_ALREADY_ENABLED)
    return _uri(ctx, user, record)


async def regenerate_backup_codes(
    ctx: AuthContext, user: User, current: Session, *, password: str, client: ClientInfo | None = None
) -> list[str]:
    """A new set of backup codes; the old set stops working."""
    sessions.forbid_delegated(ctx, current)
    if not user.extra.get(ENABLED):
        raise errors.AuthError(tf_errors.TWO_FACTOR_NOT_ENABLED)
    await verify_current_password(ctx, user, password, client=client, endpoint="two-factor-generate-backup-codes")
    store = plugin_store(ctx.store)
    if await store.get_two_factor(user.id) is None:
        raise errors.AuthError(tf_errors.TWO_FACTOR_NOT_ENABLED)
    codes = backup_codes.generate(ctx.settings.section(TwoFactorSettings).backup_code_count)
    async with ctx.store.transaction() as tx:
        await plugin_store(tx).update_two_factor(user.id, {"backupCodes": backup_codes.seal(ctx, codes)})
        await audit.record(
            tx, TwoFactorEvent.BACKUP_CODES_REGENERATED, user_id=user.id, client=client, count=len(codes)
        )
    return codes


# -- proving a factor ---------------------------------------------------------------------
Check = Callable[[], Awaitable[bool]]


async def _through_challenge(
    ctx: AuthContext,
    found: Challenge,
    check: Check,
    failure: errors.ErrorCode,
    *,
    factor: str,
    client: ClientInfo,
    trust: bool,
    issue: bool = True,
) -> Passed:
    """Lockout, attempt budget, the check, then (once) the session the sign-in was waiting for."""
    user = found.user
    await challenge.count_attempt(ctx, found)
    await challenge.spend_try(ctx, user.id)
    if not await check():
        raise errors.AuthError(failure)
    await challenge.clear_failures(ctx, user.id)
    await challenge.close_challenge(ctx, found)
    if not issue:
        return Passed(user, None, remember=found.remember)
    pending = PendingSignIn(user=user, client=client, remember=found.remember, method=found.method)
    signed = await issue_session(ctx, pending, second_factor=factor)
    trust_cookie = await challenge.trust_device(ctx, user.id) if trust else None
    return Passed(user, signed.session.token, signed.session, found.remember, trust_cookie)


def _clean(code: str) -> str:
    return "".join(code.split())


async def verify_totp(
    ctx: AuthContext, prover: Prover, code: str, *, client: ClientInfo, trust: bool = False, remember: bool = True
) -> Passed:
    store = plugin_store(ctx.store)
    record = await store.get_two_factor(prover.user.id)
    if record is None or (prover.challenge is not None and not record.verified):
        raise errors.AuthError(tf_errors.TOTP_NOT_ENABLED)
    s = ctx.settings.section(TwoFactorSettings)
    key = totp.secret_key(backup_codes.unseal(ctx, record.secret))

    async def check() -> bool:
        step = totp.match_step(key, _clean(code), ctx.now(), period=s.period, digits=s.digits)
        # Claimed atomically: a code (or an older one) works once, across all challenges.
        return step is not None and await store.claim_totp_counter(prover.user.id, step)

    if prover.challenge is not None:
        return await _through_challenge(
            ctx, prover.challenge, check, tf_errors.INVALID_CODE, factor="totp", client=client, trust=trust
        )
    assert prover.session is not None
    activating = not record.verified
    if activating:
        sessions.forbid_delegated(ctx, prover.session)
    if not await check():
        raise errors.AuthError(tf_errors.INVALID_CODE)
    if not activating:
        return Passed(prover.user, prover.session.token, remember=remember)
    # Two-factor on without an activated app: the user had emailed codes, and keeps them.
    keep_otp = record.otp_enabled or bool(prover.user.extra.get(ENABLED))
    user, new = await _set_enabled(ctx, prover.user, prover.session, client, remember, "totp", keep_otp=keep_otp)
    return Passed(user, new.token, new, remember)


async def verify_backup_code(
    ctx: AuthContext,
    prover: Prover,
    code: str,
    *,
    client: ClientInfo,
    trust: bool = False,
    disable_session: bool = False,
    remember: bool = True,
) -> Passed:
    """Spend a backup code. With ``disable_session`` a sign-in's challenge is closed without
    a session (the code only proves who it is)."""
    if await plugin_store(ctx.store).get_two_factor(prover.user.id) is None:
        raise errors.AuthError(tf_errors.BACKUP_CODES_NOT_ENABLED)

    async def check() -> bool:
        return await backup_codes.use(ctx, prover.user.id, code, client)

    if prover.challenge is not None:
        return await _through_challenge(
            ctx,
            prover.challenge,
            check,
            tf_errors.INVALID_BACKUP_CODE,
            factor="backup-code",
            client=client,
            trust=trust and not disable_session,
            issue=not disable_session,
        )
    assert prover.session is not None
    if not await check():
        raise errors.AuthError(tf_errors.INVALID_BACKUP_CODE)
    return Passed(prover.user, prover.session.token, remember=remember)
