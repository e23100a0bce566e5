"""Sign-up with email and password."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ..core import audit, errors, hooks
from ..core.context import AuthContext
from ..core.crypto.random import generate_id
from ..core.mail import notice_message
from ..core.models import Account, ClientInfo, Session, User
from ..core.passwords import check_new_password
from ..core.ports import DuplicateError
from ..core.users import (
    additional_values,
    check_email,
    check_image,
    check_name,
    normalise_email,
)
from . import sessions, verify_email


@dataclass(slots=True)
class SignUpInput:
    name: str
    email: str
    password: str
    image: str | None = None
    callback_url: str | None = None
    remember: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SignUpResult:
    user: User
    session: Session | None


async def create_user(
    ctx: AuthContext,
    *,
    name: str,
    email: str,
    password: str | None,
    image: str | None = None,
    extra: dict[str, Any] | None = None,
    email_verified: bool = False,
    client: ClientInfo | None = None,
    actor_id: str | None = None,
    event: audit.Event = audit.Event.USER_CREATED,
) -> User:
    """Validate and insert a user with a credential account (shared with the CLI and admin)."""
    email = check_email(email)
    name = check_name(ctx.settings.user, name)
    image = check_image(image)
    if password is not None:
        check_new_password(ctx.settings.password, password, email=email, context=(name, ctx.settings.app_name))
    if await ctx.store.find_user_by_email(email) is not None:
        raise errors.AuthError(errors.USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL)
    now = ctx.now()
    user = _new_user(ctx, name=name, email=email, image=image, extra=extra, email_verified=email_verified)
    account = None
    if password is not None:
        account = Account(
            id=generate_id(),
            account_id=user.id,
            provider_id="credential",
            user_id=user.id,
            created_at=now,
            updated_at=now,
            password=await ctx.hasher.hash(password),
        )
    try:
        # The unique index decides between concurrent sign-ups of one address.
        async with ctx.store.transaction() as tx:
            await tx.create_user(user, account)
            await audit.record(tx, event, user_id=user.id, actor_id=actor_id or user.id, client=client)
    except DuplicateError:
        raise errors.AuthError(errors.USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL) from None
    await ctx.hooks.emit(ctx, hooks.UserCreated(user.id, by=actor_id if actor_id != user.id else None))
    return user


def _new_user(
    ctx: AuthContext, *, name: str, email: str, image: str | None, extra: dict[str, Any] | None, email_verified: bool
) -> User:
    now = ctx.now()
    return User(
        id=generate_id(),
        name=name,
        email=email,
        email_verified=email_verified,
        image=image,
        created_at=now,
        updated_at=now,
        extra={**ctx.user_fields.new_user(ctx.settings), **(extra or {})},
    )


NOTICE_PREFIX = "sign-up-notice:"
NOTICE_INTERVAL = 3600
"""At most one "someone tried to sign up with your address" mail per address per hour."""


async def _tell_owner_of_attempt(ctx: AuthContext, email: str) -> None:
    now = ctx.now()
    if await ctx.store.find_verification(NOTICE_PREFIX + email, now) is not None:
        return
    await ctx.store.create_verification(NOTICE_PREFIX + email, "1", now + timedelta(seconds=NOTICE_INTERVAL))
    app = ctx.settings.app_name
    ctx.mail.send(
        notice_message(
            app=app,
            to=email,
            subject=f"Someone tried to sign up to {app} with your address",
            text=f"Someone tried to create a {app} account with {email}, which already has one. "
            "If it was you, sign in, or reset your password if you have forgotten it. "
            "If it was not you, you need do nothing: no account was created.",
        )
    )


async def sign_up(ctx: AuthContext, data: SignUpInput, client: ClientInfo) -> SignUpResult:
    ep = ctx.settings.email_password
    if not ep.enabled or ep.disable_sign_up:
        raise errors.AuthError(errors.EMAIL_PASSWORD_SIGN_UP_DISABLED)
    extra = additional_values(ctx.settings.user, data.extra, creating=True, protected=ctx.user_fields.protected)
    try:
        user = await create_user(
            ctx,
            name=data.name,
            email=data.email,
            password=data.password,
            image=data.image,
            extra=extra,
            client=client,
            event=audit.Event.SIGN_UP,
        )
    except errors.AuthError as exc:
        # No session is issued at sign-up here, so a taken address gets the answer a new one
        # gets (spec §6.6): a stand-in user, after the same hashing work. The address's owner,
        # and only they, hear of the attempt.
        quiet = ep.require_email_verification or not ep.auto_sign_in
        if not quiet or exc.error is not errors.USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL:
            raise
        await ctx.hasher.burn(data.password)
        await _tell_owner_of_attempt(ctx, normalise_email(data.email))
        stand_in = _new_user(
            ctx,
            name=check_name(ctx.settings.user, data.name),
            email=check_email(data.email),
            image=check_image(data.image),
            extra=extra,
            email_verified=False,
        )
        return SignUpResult(stand_in, None)
    if ep.send_verification_on_sign_up or ep.require_email_verification:
        verify_email.send_verification(ctx, user, data.callback_url)
    session = None
    if ep.auto_sign_in and not ep.require_email_verification:
        session = await sessions.create_session(ctx, user, client, remember=data.remember)
        await ctx.hooks.emit(ctx, hooks.SessionIssued(user.id, session.id, "sign-up"))
    return SignUpResult(user, session)
