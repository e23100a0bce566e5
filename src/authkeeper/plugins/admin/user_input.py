"""What an admin may send about a user, checked: roles to grant, addresses to trust, ban
fields, dates, additional fields, and the fields no admin sets."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ...core import errors
from ...core.context import AuthContext
from ...core.models import parse_iso
from ...core.users import (
    additional_values,
)
from . import errors as admin_errors
from .access import Actor
from .constants import ADMIN_ROLES
from .rules import (
    SET_ROLE,
)

# The rules, and the flows of oversight.py, are the admin flows' too (``flows.BAN``).


_NEVER_SET = frozenset({"createdAt", "updatedAt", "twoFactorEnabled"})
"""User fields no admin sets by hand (two-factor is the user's own, through its flows)."""


def _invalid(where: str, expected: str) -> errors.AuthError:
    return errors.AuthError(errors.VALIDATION_ERROR, f"Invalid input: expected {expected}", field=where)


def check_roles(actor: Actor, value: object) -> tuple[str, ...]:
    """Roles an admin asked to set (a name or a list of names): each must be defined, and a
    non-admin may only grant what their own roles allow."""
    names = value if isinstance(value, list | tuple) else [value]
    if not names:
        raise errors.AuthError(admin_errors.YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE)
    for name in names:
        if not isinstance(name, str):
            raise errors.AuthError(admin_errors.INVALID_ROLE_TYPE)
        if not actor.access.exists(name):
            raise errors.AuthError(admin_errors.YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE)
    roles = tuple(dict.fromkeys(names))
    if not actor.may_grant(roles):
        raise errors.AuthError(admin_errors.YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE)
    return roles


def check_trust(actor: Actor, email: str | None, verified: object) -> None:
    """Marking an address verified, or giving a user an address in ``admin_emails``, needs
    what set-role needs: either can make an admin. A listed address also needs the right to
    grant the admin role (its owner becomes one once it is verified)."""
    if verified is True:
        actor.require(*SET_ROLE)
    if email is not None and actor.access.lists_email(email):
        actor.require(*SET_ROLE)
        require_grant_admin(actor)


def require_grant_admin(actor: Actor) -> None:
    if not actor.may_grant(ADMIN_ROLES):
        raise errors.AuthError(SET_ROLE[1])


def _ban_values(data: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "banned" in data:
        if not isinstance(data["banned"], bool):
            raise _invalid("data.banned", "boolean")
        values["banned"] = data["banned"]
    if "banReason" in data:
        if data["banReason"] is not None and not isinstance(data["banReason"], str):
            raise _invalid("data.banReason", "string")
        values["banReason"] = data["banReason"]
    if "banExpires" in data:
        values["banExpires"] = _date(data["banExpires"], "data.banExpires")
    return values


def _date(value: object, where: str) -> datetime | None:
    if value is None:
        return None
    parsed = parse_iso(value) if isinstance(value, str) else None
    if parsed is not None:
        return parsed
    raise _invalid(where, "an ISO 8601 date")


def _refuse_fixed(data: Mapping[str, Any], *, creating: bool = False) -> None:
    if not creating and "password" in data:
        raise errors.AuthError(admin_errors.PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER)
    if not creating and "id" in data:
        raise errors.AuthError(admin_errors.USER_ID_CANNOT_BE_UPDATED)
    for key in data:
        if key in _NEVER_SET or (creating and key in ("id", "password")):
            raise errors.AuthError(errors.FIELD_NOT_ALLOWED, f"{key} is not allowed to be set")


def _additional(ctx: AuthContext, data: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
    names = {f.name for f in ctx.settings.user.additional_fields}
    return additional_values(ctx.settings.user, {k: v for k, v in data.items() if k in names}, creating=creating)
