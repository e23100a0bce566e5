"""Request bodies of the JSON API, validated by :func:`authkeeper.web.body.validate`: strictly
for JSON (no type coercion: a number is not a string, null is not a name) and leniently for
HTML forms, where every value is text."""

from __future__ import annotations

from pydantic import Field
from pydantic.config import JsonDict

from ..web.body import Body

_EMAIL: JsonDict = {"format": "email"}
"""Documents an address field in ``/openapi.json`` (a bad address is still the flow's 400)."""


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
