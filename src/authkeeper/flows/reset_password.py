"""Password reset by a single-use mailed link (spec §7.13)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from ..core import audit, errors, hooks, words
from ..core.context import AuthContext
from ..core.crypto import keys
from ..core.crypto.random import generate_id
from ..core.mail import link_message, notice_message
from ..core.models import Account, ClientInfo
from ..core.passwords import check_new_password
from ..core.ports import Store
from ..core.users import normalise_email
from . import links, sessions

PREFIX = links.RESET


async def request_reset(ctx: AuthContext, email: str, redirect_to: str | None) -> None:
    """Mail a reset link if the address has an account; the caller answers the same either way.

    An unknown address gets the same work, so neither the answer nor its timing tells who has an
    account: the same lookup, a link row written the same way (for a stand-in user id that
    exists nowhere, so the token, never mailed, resets nothing; it replaces the address's
    previous one as a real user's does) and a mail queued the same way and then dropped."""
    email = normalise_email(email)
    user = await ctx.store.find_user_by_email(email)
    # The stand-in is the same for every request about one address, as a user's id is: even
    # concurrent requests (which wait on each other's rows for a real user) tell nothing.
    owner = user.id if user is not None else "decoy-" + keys.mac(ctx.settings.secret, keys.DECOY_OWNER, email)[:24]
    token = generate_id(24)
    lifetime = ctx.settings.email_password.reset_token_expires_in
    async with ctx.store.transaction() as tx:
        await links.replace(tx, PREFIX, owner, token, ctx.now() + timedelta(seconds=lifetime))
    url = f"{ctx.settings.api_url}/reset-password/{token}?callbackURL={quote(redirect_to or '', safe='')}"
    ctx.mail.send(
        link_message(
            app=ctx.settings.app_name,
            to=user.email if user is not None else email,
            subject="Reset your password",
            intro="Someone asked to reset the password of your account. The link works once and "
            f"expires in {words.duration(lifetime)}.",
            action="Choose a new password",
            url=url,
            outro="If this was not you, ignore this mail: your password stays as it is.",
        ),
        deliver=user is not None,
    )


async def token_is_valid(ctx: AuthContext, token: str) -> bool:
    return await ctx.store.find_verification(PREFIX + token, ctx.now()) is not None


async def store_password(ctx: AuthContext, tx: Store, user_id: str, password_hash: str) -> None:
    """Give the user this password: on their credential account, made if they have none yet
    (a user who signed up through a provider). Every password change goes through here (the
    user's own change, a reset, an admin setting it), so every outstanding reset, change-email
    and delete-account link of the user dies with the old password."""
    account = await tx.find_account(user_id, "credential")
    if account is None:
        now = ctx.now()
        await tx.create_account(
            Account(
                id=generate_id(),
                account_id=user_id,
                provider_id="credential",
                user_id=user_id,
                created_at=now,
                updated_at=now,
                password=password_hash,
            )
        )
    else:
        await tx.update_account_password(account.id, password_hash)
    await links.revoke_all(tx, user_id)


async def reset_password(ctx: AuthContext, token: str, new_password: str, client: ClientInfo | None = None) -> None:
    """Set a new password; the token works once, and every session and older reset link dies."""
    if not token:
        raise errors.AuthError(errors.INVALID_TOKEN)
    row = await ctx.store.find_verification(PREFIX + token, ctx.now())
    if row is None:
        raise errors.AuthError(errors.INVALID_TOKEN)
    user = await ctx.store.find_user_by_id(row.value)
    if user is None:
        raise errors.AuthError(errors.USER_NOT_FOUND)
    # Check the password before spending the token, so a refused password keeps the link.
    check_new_password(
        ctx.settings.password, new_password, email=user.email, context=(user.name, ctx.settings.app_name)
    )
    password_hash = await ctx.hasher.hash(new_password)
    async with ctx.store.transaction() as tx:
        if await tx.consume_verification(PREFIX + token, ctx.now()) is None:
            raise errors.AuthError(errors.INVALID_TOKEN)
        await store_password(ctx, tx, user.id, password_hash)
        revoked = await sessions.end_all(ctx, tx, user.id)
        await audit.record(tx, audit.Event.PASSWORD_RESET, user_id=user.id, client=client, sessions_revoked=revoked)
    await ctx.hooks.emit(ctx, hooks.PasswordChanged(user.id, how="reset"))
    if ctx.settings.lockout.enabled:
        from .sign_in import lockout_key

        await ctx.store.clear_failures(lockout_key(user.email))
    app = ctx.settings.app_name
    ctx.mail.send(
        notice_message(
            app=app,
            to=user.email,
            subject=f"Your {app} password was reset",
            text=f"The password of your {app} account was reset with a link sent to this address, and "
            "every device was signed out. If you did not do this, reset your password again now "
            "and contact support.",
        )
    )
