"""Changes a signed-in user makes to their own account: profile, password, email,
deletion, linked accounts."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from ..core import audit, errors, hooks
from ..core.changes import UNSET, UserUpdate
from ..core.context import AuthContext
from ..core.crypto.random import LOWER_ALPHANUMERIC, generate_id
from ..core.mail import link_message
from ..core.models import Account, ClientInfo, Session, User
from ..core.passwords import check_new_password
from ..core.services import SOCIAL_PROVIDERS
from ..core.users import additional_values, check_email, check_image, check_name
from . import links, sessions, verify_email
from .reset_password import store_password
from .sign_in import verify_current_password

_UNSET: Any = object()


async def update_user(
    ctx: AuthContext, user: User, *, name: Any = _UNSET, image: Any = _UNSET, extra: dict[str, Any]
) -> User:
    if "email" in extra:
        raise errors.AuthError(errors.EMAIL_CAN_NOT_BE_UPDATED)
    fields = additional_values(ctx.settings.user, extra, creating=False, protected=ctx.user_fields.protected)
    change = UserUpdate(
        name=UNSET if name is _UNSET else check_name(ctx.settings.user, name),
        image=UNSET if image is _UNSET else check_image(image),
        fields=fields,
    )
    if change.is_empty():
        raise errors.AuthError(errors.NO_FIELDS_TO_UPDATE)
    updated = await ctx.store.update_user(user.id, dataclasses.replace(change, updated_at=ctx.now()))
    if updated is None:
        raise errors.AuthError(errors.USER_NOT_FOUND)
    return updated


@dataclass(slots=True)
class PasswordChanged:
    user: User
    new_session: Session | None


async def change_password(
    ctx: AuthContext,
    user: User,
    current: Session,
    *,
    current_password: str,
    new_password: str,
    revoke_other_sessions: bool,
    client: ClientInfo,
) -> PasswordChanged:
    sessions.forbid_delegated(ctx, current)
    check_new_password(
        ctx.settings.password, new_password, email=user.email, context=(user.name, ctx.settings.app_name)
    )
    await verify_current_password(ctx, user, current_password, client=client, endpoint="change-password")
    password_hash = await ctx.hasher.hash(new_password)
    new_session = None
    async with ctx.store.transaction() as tx:
        await store_password(ctx, tx, user.id, password_hash)
        if revoke_other_sessions:
            await sessions.end_all(ctx, tx, user.id)
            remember = (
                current.expires_at - current.created_at
            ).total_seconds() > ctx.settings.session.dont_remember_expires_in
            new_session = await sessions.create_session(ctx, user, client, remember=remember, store=tx)
        await audit.record(
            tx,
            audit.Event.PASSWORD_CHANGED,
            user_id=user.id,
            client=client,
            revoked_other_sessions=revoke_other_sessions,
        )
    await ctx.hooks.emit(ctx, hooks.PasswordChanged(user.id, how="change"))
    if new_session is not None:
        await ctx.hooks.emit(ctx, hooks.SessionIssued(user.id, new_session.id, "password-change"))
    return PasswordChanged(user, new_session)


async def change_email(
    ctx: AuthContext,
    user: User,
    new_email: str,
    callback_url: str | None,
    current: Session | None = None,
    *,
    password: str | None = None,
    client: ClientInfo | None = None,
) -> None:
    """Start an email change. It takes effect when the new address confirms; an address
    that is taken gets the same answer and no mail.

    A stolen session cookie alone must not move the account to another mailbox (and from
    there to a password reset): the session must be fresh, or ``password`` the current
    password (counted in the lockout like every password check); else SESSION_NOT_FRESH,
    before anything that tells whether the new address is taken."""
    if current is not None:
        sessions.forbid_delegated(ctx, current)
    if not ctx.settings.user.change_email_enabled:
        raise errors.AuthError(errors.CHANGE_EMAIL_DISABLED)
    email = check_email(new_email)
    if email == user.email:
        raise errors.AuthError(errors.EMAIL_IS_THE_SAME)
    if password is not None:
        await verify_current_password(ctx, user, password, client=client, endpoint="change-email")
    elif current is None or not sessions.is_fresh(ctx, current):
        raise errors.AuthError(errors.SESSION_NOT_FRESH)
    # A taken address gets the same work as a free one (the link row, the token, a mail queued
    # the same way), and its mail is dropped: nothing tells the caller the address is taken.
    taken = await ctx.store.find_user_by_email(email) is not None
    await verify_email.start_email_change(ctx, user, email, callback_url, deliver=not taken)


DELETE_PREFIX = links.DELETE_ACCOUNT


async def delete_user(
    ctx: AuthContext,
    user: User,
    current: Session,
    *,
    password: str | None,
    token: str | None,
    callback_url: str | None,
    confirm_by_email: bool,
    client: ClientInfo | None = None,
) -> bool:
    """Delete the account; returns False when a confirmation mail was sent instead."""
    if not ctx.settings.user.delete_user_enabled:
        raise errors.AuthError(errors.NOT_FOUND)
    sessions.forbid_delegated(ctx, current)
    if token:
        await consume_delete_token(ctx, user, token, client)
        return True
    if password is not None:
        await verify_current_password(ctx, user, password, client=client, endpoint="delete-user")
    elif not sessions.is_fresh(ctx, current):
        raise errors.AuthError(errors.SESSION_EXPIRED)
    if confirm_by_email:
        token = generate_id(32, LOWER_ALPHANUMERIC)
        lifetime = ctx.settings.user.delete_token_expires_in
        async with ctx.store.transaction() as tx:
            await links.replace(tx, DELETE_PREFIX, user.id, token, ctx.now() + timedelta(seconds=lifetime))
        url = (
            f"{ctx.settings.api_url}/delete-user/callback?token={token}"
            f"&callbackURL={quote(callback_url or '/', safe='')}"
        )
        ctx.mail.send(
            link_message(
                app=ctx.settings.app_name,
                to=user.email,
                subject="Confirm account deletion",
                intro="Someone asked to delete your account and all its data.",
                action="Delete my account",
                url=url,
                outro="If this was not you, ignore this mail and change your password.",
            )
        )
        return False
    await remove_user(ctx, user, client=client)
    return True


async def remove_user(
    ctx: AuthContext, user: User, *, client: ClientInfo | None = None, actor_id: str | None = None, **details: Any
) -> None:
    """Delete a user with their sessions and accounts; the audit history stays."""
    async with ctx.store.transaction() as tx:
        await sessions.end_all(ctx, tx, user.id)
        await tx.delete_user(user.id)
        await audit.record(
            tx, audit.Event.USER_REMOVED, user_id=user.id, actor_id=actor_id, client=client, email=user.email, **details
        )
    await ctx.hooks.emit(ctx, hooks.UserDeleted(user.id, by=actor_id))


async def consume_delete_token(ctx: AuthContext, user: User, token: str, client: ClientInfo | None = None) -> None:
    row = await ctx.store.find_verification(DELETE_PREFIX + token, ctx.now())
    if row is None or row.value != user.id:
        raise errors.AuthError(errors.INVALID_TOKEN)
    if await ctx.store.consume_verification(DELETE_PREFIX + token, ctx.now()) is None:
        raise errors.AuthError(errors.INVALID_TOKEN)
    await remove_user(ctx, user, client=client)


async def list_accounts(ctx: AuthContext, user: User) -> list[Account]:
    return await ctx.store.list_accounts(user.id)


_SELECTOR_KEYS = (frozenset({"accountId", "userId"}), frozenset({"useAccountCookie", "userId"}))


async def select_account(ctx: AuthContext, user: User, selection: Mapping[str, Any]) -> Account:
    """The user's account named by Better Auth 1.7's selector, exactly one of
    ``{accountId: <account.id>}`` or ``{useAccountCookie: true}`` (each with an optional
    ``userId``, which only server-side calls without a session may use, so a signed-in caller's
    own id is the only one honoured); extra keys are refused, as 1.7's strict schema does.

    authkeeper stores no account cookie, so ``useAccountCookie`` finds nothing."""
    keys = frozenset(selection)
    valid = any(keys <= allowed and (keys - {"userId"}) for allowed in _SELECTOR_KEYS)
    if (
        not valid
        or ("accountId" in keys and not isinstance(selection["accountId"], str))
        or ("useAccountCookie" in keys and selection["useAccountCookie"] is not True)
        or ("userId" in keys and not isinstance(selection["userId"], str))
    ):
        raise errors.AuthError(
            errors.VALIDATION_ERROR, "Invalid input: expected {accountId} or {useAccountCookie: true}"
        )
    if "accountId" in keys:
        for found in await ctx.store.list_accounts(user.id):
            if found.id == selection["accountId"]:
                return found
    raise errors.AuthError(errors.ACCOUNT_NOT_FOUND)


def social_provider(ctx: AuthContext, provider_id: str) -> Any | None:
    """The configured social provider of that id, or None (an account of any other provider,
    ``credential`` included, has no provider tokens)."""
    providers = ctx.services.get(SOCIAL_PROVIDERS)
    return providers.provider(provider_id) if providers is not None else None


async def provider_account(
    ctx: AuthContext,
    user: User,
    selection: Mapping[str, Any],
    *,
    missing: errors.ErrorCode = errors.PROVIDER_NOT_SUPPORTED,
) -> tuple[Account, Any]:
    """The selected account and its configured provider, for the provider-token endpoints
    (get-access-token, refresh-token, account-info). An account of no configured provider, the
    ``credential`` account included, answers ``missing``."""
    found = await select_account(ctx, user, selection)
    provider = social_provider(ctx, found.provider_id)
    if provider is None:
        if missing is errors.PROVIDER_NOT_SUPPORTED:
            raise errors.AuthError(missing, f"Provider {found.provider_id} is not supported.")
        raise errors.AuthError(missing)
    return found, provider


async def unlink_account(ctx: AuthContext, user: User, account_row_id: str) -> None:
    accounts = await ctx.store.list_accounts(user.id)
    if not any(a.id == account_row_id for a in accounts):
        raise errors.AuthError(errors.ACCOUNT_NOT_FOUND)
    if len(accounts) <= 1:
        raise errors.AuthError(errors.FAILED_TO_UNLINK_LAST_ACCOUNT)
    await ctx.store.delete_account(user.id, account_row_id)
