"""Request bodies of the JSON API. Validated strictly for JSON (no type coercion: a number
is not a string, null is not a name) and leniently for HTML forms, where every value is text."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.config import JsonDict

from ..core import errors

_LONG = 2048
_EMAIL: JsonDict = {"format": "email"}
"""Documents an address field in ``/openapi.json`` (a bad address is still the flow's 400)."""


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=_LONG)


class SignUpBody(Body):
    name: str = Field(max_length=255)
    email: str = Field(max_length=320, json_schema_extra=_EMAIL)
    password: str = Field(min_length=1, max_length=4096)
    image: str | None = None
    callbackURL: str | None = None
    rememberMe: bool = True


class SignInBody(Body):
    email: str = Field(max_length=320, json_schema_extra=_EMAIL)
    password: str = Field(max_length=4096)
    callbackURL: str | None = None
    rememberMe: bool = True


class SignOutBody(Body):
    callbackURL: str | None = None


class TokenBody(Body):
    token: str = Field(max_length=256)


class UpdateUserBody(Body):
    name: str | None = Field(default=None, max_length=255)
    image: str | None = None


class PasswordBody(Body):
    password: str = Field(max_length=4096)


class ChangePasswordBody(Body):
    currentPassword: str = Field(max_length=4096)
    newPassword: str = Field(max_length=4096)
    revokeOtherSessions: bool = False


class ChangeEmailBody(Body):
    newEmail: str = Field(max_length=320, json_schema_extra=_EMAIL)
    callbackURL: str | None = None
    password: str | None = Field(default=None, max_length=4096)  # authkeeper: stands in for a fresh session


class DeleteUserBody(Body):
    password: str | None = Field(default=None, max_length=4096)
    token: str | None = Field(default=None, max_length=256)
    callbackURL: str | None = None


class EmailBody(Body):
    email: str = Field(max_length=320, json_schema_extra=_EMAIL)
    callbackURL: str | None = None


class RequestResetBody(Body):
    email: str = Field(max_length=320, json_schema_extra=_EMAIL)
    redirectTo: str | None = None


class ResetPasswordBody(Body):
    newPassword: str = Field(max_length=4096)
    token: str | None = Field(default=None, max_length=256)


class UnlinkAccountBody(Body):
    accountId: str = Field(max_length=256)


def _describe(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ()))
    where = f"[body.{loc}]" if loc else "[body]"
    kind = err.get("type", "")
    if kind == "missing":
        return f"{where} Invalid input: expected a value, received undefined"
    if kind == "string_too_long":
        return f"{where} Too long: at most {err.get('ctx', {}).get('max_length')} characters"
    if kind == "string_too_short":
        return f"{where} Too short"
    if kind.endswith("_type") or kind in ("string_type", "bool_parsing", "int_parsing"):
        expected = kind.split("_")[0]
        expected = {"bool": "boolean", "model": "object", "dict": "object"}.get(expected, expected)
        return f"{where} Invalid input: expected {expected}"
    return f"{where} {err.get('msg', 'Invalid input')}"


def validate(model: type[Body], data: Any, *, form: bool = False) -> Body:
    """The validated body, or VALIDATION_ERROR naming each bad field (spec §1.5's format)."""
    if not isinstance(data, dict):
        raise errors.AuthError(errors.VALIDATION_ERROR, "[body] Invalid input: expected object")
    try:
        return model.model_validate(data, strict=not form)
    except ValidationError as exc:
        message = "; ".join(_describe(e) for e in exc.errors(include_url=False))  # type: ignore[arg-type]
        raise errors.AuthError(errors.VALIDATION_ERROR, message) from None
