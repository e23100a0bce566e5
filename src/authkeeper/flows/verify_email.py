"""Email verification by a signed, stateless link (spec §7.14), and the change-email link."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote, urlencode

from ..core import audit, errors, hooks
from ..core.changes import UserUpdate
from ..core.context import AuthContext
from ..core.crypto.random import generate_id
from ..core.crypto.tokens import TokenError, decode_jwt, encode_jwt
from ..core.mail import link_message, notice_message
from ..core.models import ClientInfo, User
from ..core.ports import DuplicateError
from ..core.users import normalise_email
from . import links

CHANGE_EMAIL_PREFIX = links.CHANGE_EMAIL


def verification_url(ctx: AuthContext, token: str, callback_url: str | None) -> str:
    query = urlencode({"token": token, "callbackURL": callback_url or "/"}, quote_via=quote)
    return f"{ctx.settings.api_url}/verify-email?{query}"


def send_verification(ctx: AuthContext, user: User, callback_url: str | None) -> None:
    s = ctx.settings
    token = encode_jwt(s.secret, {"email": user.email, "userId": user.id}, s.email_password.verification_expires_in)
    ctx.mail.send(
        link_message(
            app=s.app_name,
            to=user.email,
            subject="Verify your email address",
            intro=f"Confirm that {user.email} is your address to finish setting up your account.",
            action="Verify email",
            url=verification_url(ctx, token, callback_url),
            outro="If you did not create an account, ignore this mail.",
        )
    )


async def request_verification(ctx: AuthContext, email: str, callback_url: str | None, signed_in: User | None) -> None:
    """Send a new link. Signed in: only to one's own unverified address. Signed out: the
    same answer whether or not the address exists, after the same minimum delay."""
    email = normalise_email(email)
    if signed_in is not None:
        if signed_in.email != email:
            raise errors.AuthError(errors.EMAIL_MISMATCH)
        if signed_in.email_verified:
            raise errors.AuthError(errors.EMAIL_ALREADY_VERIFIED)
        send_verification(ctx, signed_in, callback_url)
        return
    started = asyncio.get_running_loop().time()
    user = await ctx.store.find_user_by_email(email)
    if user is not None and not user.email_verified:
        send_verification(ctx, user, callback_url)
    # A floor on the answer time so lookups and sends do not reveal who exists.
    delay = 0.5 - (asyncio.get_running_loop().time() - started)
    if delay > 0:
        await asyncio.sleep(delay)


async def start_email_change(
    ctx: AuthContext, user: User, new_email: str, callback_url: str | None, *, deliver: bool = True
) -> None:
    """Mail a single-use link to the new address; nothing changes until it is followed. With
    ``deliver=False`` every step is taken but the mail is dropped (the address is taken)."""
    s = ctx.settings
    nonce = generate_id()
    expires_in = s.email_password.verification_expires_in
    # The row holds the user's id, like every link's, so that a new request or a password
    # change finds and kills it; the new address travels in the signed token.
    async with ctx.store.transaction() as tx:
        await links.replace(tx, CHANGE_EMAIL_PREFIX, user.id, nonce, ctx.now() + timedelta(seconds=expires_in))
    token = encode_jwt(
        s.secret,
        {
            "email": user.email,
            "updateTo": new_email,
            "requestType": "change-email-verification",
            "userId": user.id,
            "jti": nonce,
        },
        expires_in,
    )
    ctx.mail.send(
        link_message(
            app=s.app_name,
            to=new_email,
            subject="Confirm your new email address",
            intro=f"Someone asked to use {new_email} as the email address of their {s.app_name} account.",
            action="Confirm new email",
            url=verification_url(ctx, token, callback_url),
            outro="If this was not you, ignore this mail: nothing changes until the link is followed.",
        ),
        deliver=deliver,
    )


@dataclass(slots=True)
class Verified:
    user: User
    changed_email: bool = False
    newly_verified: bool = False
    """This use of the link is the one that verified the address: of concurrent uses, one."""


async def verify(ctx: AuthContext, token: str, client: ClientInfo | None = None) -> Verified:
    """Follow a verification link. Raises INVALID_TOKEN, TOKEN_EXPIRED or USER_NOT_FOUND."""
    try:
        claims = decode_jwt(ctx.secrets, token)
    except TokenError as exc:
        raise errors.AuthError(errors.TOKEN_EXPIRED if exc.expired else errors.INVALID_TOKEN) from None
    email = claims.get("email")
    if not isinstance(email, str):
        raise errors.AuthError(errors.INVALID_TOKEN)
    if claims.get("requestType") == "change-email-verification":
        return await _confirm_change(ctx, claims, client)
    user = await ctx.store.find_user_by_email(normalise_email(email))
    if user is None or (claims.get("userId") not in (None, user.id)):
        raise errors.AuthError(errors.USER_NOT_FOUND)
    if user.email_verified:
        return Verified(user)
    async with ctx.store.transaction() as tx:
        # Compare-and-set: of several uses of the link at once, one verifies (and may sign in).
        updated = await tx.update_user(
            user.id, UserUpdate(email_verified=True, updated_at=ctx.now()), expected=UserUpdate(email_verified=False)
        )
        if updated is not None:
            await audit.record(tx, audit.Event.EMAIL_VERIFIED, user_id=user.id, client=client)
    if updated is None:
        return Verified(await ctx.store.find_user_by_id(user.id) or user)
    return Verified(updated, newly_verified=True)


async def _confirm_change(ctx: AuthContext, claims: dict[str, object], client: ClientInfo | None) -> Verified:
    nonce, user_id, new_email = claims.get("jti"), claims.get("userId"), claims.get("updateTo")
    if not isinstance(nonce, str) or not isinstance(user_id, str) or not isinstance(new_email, str):
        raise errors.AuthError(errors.INVALID_TOKEN)
    async with ctx.store.transaction() as tx:
        row = await tx.consume_verification(CHANGE_EMAIL_PREFIX + nonce, ctx.now())
        # The row holds the user's id (a row of an earlier version, holding JSON, is refused:
        # a password change could not have killed it).
        if row is None or row.value != user_id:
            raise errors.AuthError(errors.INVALID_TOKEN)
        old = await tx.find_user_by_id(user_id)
        if old is None:
            raise errors.AuthError(errors.USER_NOT_FOUND)
        try:
            user = await tx.update_user(user_id, UserUpdate(email=new_email, email_verified=True, updated_at=ctx.now()))
        except DuplicateError:
            raise errors.AuthError(errors.USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL) from None
        await audit.record(
            tx, audit.Event.EMAIL_CHANGED, user_id=user_id, client=client, old_email=old.email, new_email=new_email
        )
    assert user is not None
    await ctx.hooks.emit(ctx, hooks.EmailChanged(user_id, old=old.email, new=new_email))
    if ctx.settings.user.notify_old_email_on_change and old.email != new_email:
        ctx.mail.send(
            notice_message(
                app=ctx.settings.app_name,
                to=old.email,
                subject="Your email address was changed",
                text=f"The email of your {ctx.settings.app_name} account was changed to {new_email}. "
                "If you did not do this, reset your password and contact support.",
            )
        )
    return Verified(user, changed_email=True)
