"""Admin business rules: users, roles, sessions and the audit log, as an :class:`Actor`
may change or read them. No HTTP here; the endpoints and the CLI translate.

Every flow checks the actor's permission itself (the endpoints check first too, so that
a refusal comes before any input validation), and writes its audit event with
``actor_id`` = the actor in the transaction of the change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...core import audit, errors, hooks
from ...core.changes import UserUpdate
from ...core.context import AuthContext
from ...core.mail import notice_message
from ...core.models import ClientInfo, User, iso
from ...core.passwords import check_new_password
from ...core.ports import DuplicateError, UserQuery
from ...core.users import (
    check_email,
    check_image,
    check_name,
)
from ...flows import account, links, reset_password, sessions, sign_up
from ...flows.sign_in import lockout_key
from . import errors as admin_errors
from .access import Actor
from .events import AdminEvent
from .oversight import (
    list_audit,
    list_user_sessions,
    lockout_state,
    revoke_user_session,
    revoke_user_sessions,
    session_handle,
    unlock_user,
)
from .rules import (
    BAN,
    CREATE,
    DELETE,
    GET,
    IMPERSONATE,
    IMPERSONATE_ADMINS,
    LIST,
    LIST_AUDIT,
    LIST_SESSIONS,
    REVOKE_SESSIONS,
    SET_PASSWORD,
    SET_ROLE,
    UNLOCK,
    UPDATE,
    RolePolicy,
    Rule,
    access_control,
    actor_for,
    find_target,
    has_permission,
    operator,
    user_not_found,
)
from .schema import BAN_FIELDS, ROLE
from .settings import AdminSettings
from .user_input import (
    _additional,
    _ban_values,
    _invalid,
    _refuse_fixed,
    check_roles,
    check_trust,
    require_grant_admin,
)

# The rules, and the flows of oversight.py, are the admin flows' too (``flows.BAN``).
__all__ = [
    "BAN",
    "CREATE",
    "DELETE",
    "GET",
    "IMPERSONATE",
    "IMPERSONATE_ADMINS",
    "LIST",
    "LIST_AUDIT",
    "LIST_SESSIONS",
    "REVOKE_SESSIONS",
    "SET_PASSWORD",
    "SET_ROLE",
    "UNLOCK",
    "UPDATE",
    "RolePolicy",
    "Rule",
    "access_control",
    "actor_for",
    "check_roles",
    "check_trust",
    "create_user",
    "find_target",
    "get_user",
    "has_permission",
    "list_audit",
    "list_user_sessions",
    "list_users",
    "lockout_state",
    "operator",
    "remove_user",
    "require_grant_admin",
    "revoke_user_session",
    "revoke_user_sessions",
    "session_handle",
    "set_role",
    "set_user_password",
    "unlock_user",
    "update_user",
    "user_not_found",
]


# -- roles ------------------------------------------------------------------------------
async def set_role(
    ctx: AuthContext, actor: Actor, user_id: str, role: object, client: ClientInfo | None = None
) -> User:
    actor.require(*SET_ROLE)
    roles = check_roles(actor, role)
    target = await find_target(ctx, user_id)
    actor.require_manage(target, SET_ROLE[1])
    async with ctx.store.transaction() as tx:
        updated = await tx.update_user(target.id, UserUpdate(updated_at=ctx.now(), fields={ROLE: ",".join(roles)}))
        if updated is None:
            raise user_not_found()
        await audit.record(
            tx,
            AdminEvent.ROLE_CHANGED,
            user_id=target.id,
            actor_id=actor.id,
            client=client,
            old_role=target.extra.get("role"),
            new_role=",".join(roles),
            **actor.details,
        )
    return updated


# -- users ------------------------------------------------------------------------------
async def create_user(
    ctx: AuthContext,
    actor: Actor,
    *,
    email: str,
    name: str,
    password: str | None = None,
    role: object = None,
    data: Mapping[str, Any] | None = None,
    client: ClientInfo | None = None,
) -> User:
    """A new user, with a credential account when a password is given. ``data`` may hold
    additional fields, ``image``, ``emailVerified`` and (with ``user:ban``) the ban fields."""
    actor.require(*CREATE)
    data = dict(data or {})
    requested = role if role is not None else data.get("role")
    data.pop("role", None)
    if requested is not None:
        actor.require(*SET_ROLE)
        roles = check_roles(actor, requested)
    else:
        roles = (ctx.settings.section(AdminSettings).default_role,)
    _refuse_fixed(data, creating=True)
    extra: dict[str, Any] = {"role": ",".join(roles)}
    if any(key in data for key in BAN_FIELDS):
        actor.require(*BAN)
        extra.update(_ban_values(data))
    verified = data.get("emailVerified", False)
    if not isinstance(verified, bool):
        raise _invalid("data.emailVerified", "boolean")
    check_trust(actor, check_email(email), verified)  # the address as it will be stored
    image = data.get("image")
    if image is not None and not isinstance(image, str):
        raise _invalid("data.image", "string")
    extra.update(_additional(ctx, data, creating=True))
    try:
        user = await sign_up.create_user(
            ctx,
            name=name,
            email=email,
            password=password,
            image=image,
            extra=extra,
            email_verified=verified,
            client=client,
            actor_id=actor.id,
            event=audit.Event.USER_CREATED,
        )
    except errors.AuthError as exc:
        if exc.code == errors.USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL.code:
            raise errors.AuthError(exc.error, status=400) from None
        raise
    # The stored row, with every column (the answer then looks like get-user's).
    return await ctx.store.find_user_by_id(user.id) or user


async def get_user(ctx: AuthContext, actor: Actor, user_id: str) -> User:
    actor.require(*GET)
    return await find_target(ctx, user_id)


async def list_users(ctx: AuthContext, actor: Actor, query: UserQuery) -> tuple[list[User], int]:
    actor.require(*LIST)
    return await ctx.store.search_users(query)


async def update_user(
    ctx: AuthContext, actor: Actor, user_id: str, data: Mapping[str, Any], client: ClientInfo | None = None
) -> User:
    """Change any of a user's fields but the password and id: the role, ``emailVerified: true``
    and an address in ``admin_emails`` need ``user:set-role``, the ban fields ``user:ban``.
    Banning revokes the user's sessions. A new email ends the user's sessions and links, is
    unverified (unless ``emailVerified`` is given too) and is told to the old address."""
    actor.require(*UPDATE)
    if not data:
        raise errors.AuthError(admin_errors.NO_DATA_TO_UPDATE)
    _refuse_fixed(data)
    values: dict[str, Any] = {}
    if "role" in data:
        actor.require(*SET_ROLE)
        values["role"] = ",".join(check_roles(actor, data["role"]))
    if any(key in data for key in BAN_FIELDS):
        actor.require(*BAN)
        if data.get("banned") is True and user_id == actor.id:
            raise errors.AuthError(admin_errors.YOU_CANNOT_BAN_YOURSELF)
        values.update(_ban_values(data))
    if "email" in data:
        if not isinstance(data["email"], str):
            raise _invalid("data.email", "string")
        values["email"] = check_email(data["email"])  # a taken address: the unique index says so below
    if "emailVerified" in data:
        if not isinstance(data["emailVerified"], bool):
            raise _invalid("data.emailVerified", "boolean")
        values["emailVerified"] = data["emailVerified"]
    check_trust(actor, values.get("email"), values.get("emailVerified"))
    if "name" in data:
        if not isinstance(data["name"], str):
            raise _invalid("data.name", "string")
        values["name"] = check_name(ctx.settings.user, data["name"])
    if "image" in data:
        if data["image"] is not None and not isinstance(data["image"], str):
            raise _invalid("data.image", "string")
        values["image"] = check_image(data["image"])
    values.update(_additional(ctx, data, creating=False))
    if not values:
        raise errors.AuthError(admin_errors.NO_DATA_TO_UPDATE)
    target = await find_target(ctx, user_id)
    actor.require_manage(target, UPDATE[1])
    if target.id == actor.id and not actor.system and ("email" in values or "emailVerified" in values):
        # One's own address changes through change-email (freshness or the password, and
        # the new address confirms); an admin session alone must not move its own account.
        raise errors.AuthError(admin_errors.YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS)
    email_changed = "email" in values and values["email"] != target.email
    if email_changed and "emailVerified" not in values:
        values["emailVerified"] = False
    if values.get("emailVerified") is True and actor.access.lists_email(values.get("email", target.email)):
        require_grant_admin(actor)  # verifying a listed address makes an admin
    values["updatedAt"] = ctx.now()
    try:
        async with ctx.store.transaction() as tx:
            updated = await tx.update_user(target.id, UserUpdate.from_columns(values))
            if updated is None:
                raise user_not_found()
            await _record_changes(ctx, tx, actor, target, updated, values, client)
    except DuplicateError:
        raise errors.AuthError(errors.USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL, status=400) from None
    if email_changed:
        await ctx.hooks.emit(ctx, hooks.EmailChanged(target.id, old=target.email, new=updated.email))
        app = ctx.settings.app_name
        ctx.mail.send(
            notice_message(
                app=app,
                to=target.email,
                subject="Your email address was changed",
                text=f"An administrator changed the email of your {app} account to {updated.email}, and every "
                "device was signed out. If you did not expect this, contact support.",
            )
        )
    return updated


async def _record_changes(
    ctx: AuthContext,
    tx: Any,
    actor: Actor,
    before: User,
    after: User,
    values: Mapping[str, Any],
    client: ClientInfo | None,
) -> None:
    who: dict[str, Any] = {"user_id": before.id, "actor_id": actor.id, "client": client, **actor.details}
    if "role" in values and before.extra.get("role") != values["role"]:
        await audit.record(
            tx, AdminEvent.ROLE_CHANGED, old_role=before.extra.get("role"), new_role=values["role"], **who
        )
    if values.get("banned") is True:
        # As Better Auth: a ban through update-user ends the user's sessions too.
        count = await sessions.end_all(ctx, tx, before.id)
        await audit.record(
            tx,
            AdminEvent.USER_BANNED,
            reason=after.extra.get("banReason"),
            expires_at=iso(after.extra.get("banExpires")),
            sessions_revoked=count,
            **who,
        )
    elif values.get("banned") is False and before.extra.get("banned"):
        await audit.record(tx, AdminEvent.USER_UNBANNED, **who)
    if "email" in values and values["email"] != before.email:
        # The old owner of the address is signed out, and the links mailed to it die.
        count = await sessions.end_all(ctx, tx, before.id)
        await links.revoke_all(tx, before.id)
        await audit.record(
            tx,
            audit.Event.EMAIL_CHANGED,
            old_email=before.email,
            new_email=values["email"],
            sessions_revoked=count,
            **who,
        )


async def remove_user(ctx: AuthContext, actor: Actor, user_id: str, client: ClientInfo | None = None) -> None:
    """Delete a user with their sessions and accounts; their audit history stays."""
    actor.require(*DELETE)
    if user_id == actor.id:
        raise errors.AuthError(admin_errors.YOU_CANNOT_REMOVE_YOURSELF)
    target = await find_target(ctx, user_id)
    actor.require_manage(target, DELETE[1])
    await account.remove_user(ctx, target, client=client, actor_id=actor.id, **actor.details)


async def set_user_password(
    ctx: AuthContext, actor: Actor, user_id: str, new_password: str, client: ClientInfo | None = None
) -> None:
    """Set (or create) the user's password: their sessions and mailed links end, they are told
    by mail, and a lockout on their email is cleared."""
    actor.require(*SET_PASSWORD)
    target = await find_target(ctx, user_id)
    if target.id == actor.id and not actor.system:
        # One's own password changes through change-password (the current one, counted in the
        # lockout): a stolen admin session must not set it.
        raise errors.AuthError(admin_errors.YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD)
    actor.require_manage(target, SET_PASSWORD[1])
    check_new_password(
        ctx.settings.password, new_password, email=target.email, context=(target.name, ctx.settings.app_name)
    )
    password_hash = await ctx.hasher.hash(new_password)
    async with ctx.store.transaction() as tx:
        await reset_password.store_password(ctx, tx, target.id, password_hash)
        count = await sessions.end_all(ctx, tx, target.id)
        await audit.record(
            tx,
            audit.Event.PASSWORD_CHANGED,
            user_id=target.id,
            actor_id=actor.id,
            client=client,
            by_admin=True,
            sessions_revoked=count,
            **actor.details,
        )
    await ctx.hooks.emit(ctx, hooks.PasswordChanged(target.id, how="admin"))
    if ctx.settings.lockout.enabled:
        await ctx.store.clear_failures(lockout_key(target.email))
    app = ctx.settings.app_name
    ctx.mail.send(
        notice_message(
            app=app,
            to=target.email,
            subject=f"Your {app} password was changed",
            text=f"An administrator set a new password for your {app} account, and every device was signed "
            "out. If you did not expect this, contact support.",
        )
    )
