"""User-input rules shared by sign-up, update-user and the admin: emails, names, extra fields."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from . import errors
from .models import parse_iso
from .settings import AdditionalField, Settings, UserSettings

# Plain ASCII addresses with a dotted domain, as zod's email check accepts.
_EMAIL = re.compile(r"^(?!\.)(?!.*\.\.)[A-Za-z0-9_'+\-.]*[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$")

# Columns nobody sets through sign-up or update-user: the core's, and those of Better Auth's
# admin, two-factor, anonymous and phone-number plugins. They stay closed when the plugin is
# not installed (a Better Auth database may hold them, and a field of that name set by a
# client would read as a role or a ban once the plugin is on). Installed plugins add theirs
# (:class:`PluginFields`).
PROTECTED_FIELDS = frozenset(
    {
        "id",
        "emailVerified",
        "createdAt",
        "updatedAt",
        "isAnonymous",
        "phoneNumberVerified",
        "role",
        "banned",
        "banReason",
        "banExpires",
        "twoFactorEnabled",
    }
)


@dataclass(frozen=True)
class PluginFields:
    """What the installed plugins declare of the user's fields, merged by the composition root
    from their schemas: the values of a new user, and the fields no client sets."""

    defaults: tuple[Callable[[Settings], Mapping[str, Any]], ...] = ()
    protected: frozenset[str] = frozenset()
    columns: frozenset[str] = frozenset()
    """Every user column the installed plugins add."""

    def new_user(self, settings: Settings) -> dict[str, Any]:
        """The plugins' fields of a new user (admin: ``role``, ``banned``), in plugin order."""
        values: dict[str, Any] = {}
        for defaults in self.defaults:
            values.update(defaults(settings))
        return values


def normalise_email(value: str) -> str:
    """NFKC, trimmed, lower-cased: the form used for lookup and uniqueness."""
    return unicodedata.normalize("NFKC", value).strip().lower()


def is_valid_email(email: str) -> bool:
    return len(email) <= 254 and bool(_EMAIL.match(email))


def check_email(value: str) -> str:
    email = normalise_email(value)
    if not is_valid_email(email):
        raise errors.AuthError(errors.INVALID_EMAIL)
    return email


def check_name(settings: UserSettings, name: str) -> str:
    name = name.strip()
    if len(name) > settings.max_name_length:
        raise errors.AuthError(
            errors.VALIDATION_ERROR, f"Too long: at most {settings.max_name_length} characters", field="name"
        )
    return name


def check_image(image: str | None) -> str | None:
    if image is not None and len(image) > 2048:
        raise errors.AuthError(errors.VALIDATION_ERROR, "Too long: at most 2048 characters", field="image")
    return image


def _coerce(spec: AdditionalField, value: Any) -> Any:
    where = spec.name
    if value is None:
        if spec.required:
            raise errors.AuthError(
                errors.VALIDATION_ERROR, f"Invalid input: expected {spec.type}, received null", field=where
            )
        return None
    if spec.type == "string":
        if not isinstance(value, str):
            raise errors.AuthError(errors.VALIDATION_ERROR, "Invalid input: expected string", field=where)
        if len(value) > spec.max_length:
            raise errors.AuthError(
                errors.VALIDATION_ERROR, f"Too long: at most {spec.max_length} characters", field=where
            )
        return value
    if spec.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise errors.AuthError(errors.VALIDATION_ERROR, "Invalid input: expected number", field=where)
        return value
    if spec.type == "boolean":
        if not isinstance(value, bool):
            raise errors.AuthError(errors.VALIDATION_ERROR, "Invalid input: expected boolean", field=where)
        return value
    parsed = parse_iso(value) if isinstance(value, str) else None
    if parsed is not None:
        return parsed
    raise errors.AuthError(errors.VALIDATION_ERROR, "Invalid input: expected an ISO 8601 date", field=where)


def check_protected(body: Mapping[str, Any], settings: UserSettings, protected: frozenset[str] = frozenset()) -> None:
    """FIELD_NOT_ALLOWED for any field a client may not set, whatever its value (``protected``:
    the installed plugins', :attr:`PluginFields.protected`)."""
    closed = PROTECTED_FIELDS | protected | {f.name for f in settings.additional_fields if not f.input}
    for key in body:
        if key in closed:
            raise errors.AuthError(errors.FIELD_NOT_ALLOWED, f"{key} is not allowed to be set")


def additional_values(
    settings: UserSettings, body: Mapping[str, Any], *, creating: bool, protected: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """Validated additional-field values from a request body (defaults applied on create)."""
    check_protected(body, settings, protected)
    values: dict[str, Any] = {}
    for spec in settings.additional_fields:
        if spec.name in body:
            values[spec.name] = _coerce(spec, body[spec.name])
        elif creating:
            if spec.default is not None:
                values[spec.name] = spec.default
            elif spec.required and spec.input:
                raise errors.AuthError(errors.MISSING_FIELD, f"{spec.name} is required")
            else:
                values[spec.name] = None
    return values


@lru_cache(maxsize=16)
def hidden_fields(settings: UserSettings) -> frozenset[str]:
    """The additional fields no answer shows (``returned = false``); read on every answer with a
    user, so computed once per settings (they are immutable)."""
    return frozenset(f.name for f in settings.additional_fields if not f.returned)
