"""What the pages say: one table from stable error codes to (field, human message), the
notices shown after a redirect, and waiting times in plain words.

The flows raise :class:`~authkeeper.core.errors.AuthError` with a stable code; this module is
the only place a code becomes page text. ``FORM`` marks an error about the whole form. These
are the core's codes and notices; a plugin brings its own (``Plugin.page_messages`` and
``page_notices``), which the pages app merges into the tables :func:`describe` is given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..core import errors
from ..core.settings import Settings

FORM = "_form"
"""Pseudo-field of errors that belong to the whole form (shown above its fields)."""


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


def wait_words(seconds: int) -> str:
    """``12 minutes``, ``1 hour``, ``45 seconds``: a wait rounded up, in words."""
    seconds = max(1, int(seconds))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    if seconds < 3600:
        minutes = math.ceil(seconds / 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = math.ceil(seconds / 3600)
    return f"{hours} hour{'s' if hours != 1 else ''}"


def retry_after(exc: errors.AuthError) -> int | None:
    return exc.retry_after


PageMessages = Mapping[str, tuple[str, str]]
"""Error code → (the form field it belongs to, or ``FORM``; the message). ``{min}``/``{max}``
are the password length bounds, ``{wait}`` the time to wait in words, ``{message}`` the error's
own message."""

MESSAGES: dict[str, tuple[str, str]] = {
    # Input.
    "INVALID_EMAIL": ("email", "Enter an email address like name@example.com."),
    "VALIDATION_ERROR": (FORM, "Some of the information entered is not valid."),
    "FIELD_NOT_ALLOWED": (FORM, "That field cannot be changed here."),
    "NO_FIELDS_TO_UPDATE": (FORM, "Nothing to save: change a field first."),
    # Passwords.
    "PASSWORD_TOO_SHORT": ("password", "Use at least {min} characters."),
    "PASSWORD_TOO_LONG": ("password", "Use at most {max} characters."),
    "PASSWORD_TOO_COMMON": ("password", "This password is too common and easy to guess. Choose another."),
    "PASSWORD_SAME_AS_EMAIL": ("password", "Your password must not be your email address."),
    "PASSWORD_TOO_SIMILAR": (
        "password",
        "This password is too close to your email, your name or the site's name. Choose another.",
    ),
    "INVALID_PASSWORD": ("current_password", "That is not your current password."),
    "CREDENTIAL_ACCOUNT_NOT_FOUND": (FORM, "This account has no password. Use “Forgot password” to set one."),
    # Sign-up and sign-in.
    "INVALID_EMAIL_OR_PASSWORD": (FORM, "That email and password do not match. Check them and try again."),
    "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL": (
        "email",
        "An account with this email already exists. Sign in, or use another email.",
    ),
    "EMAIL_NOT_VERIFIED": (FORM, "Confirm your email address first: follow the link we sent you."),
    "EMAIL_PASSWORD_SIGN_UP_DISABLED": (FORM, "Sign-up is closed. Ask an administrator for an account."),
    "EMAIL_PASSWORD_DISABLED": (FORM, "Signing in with a password is turned off."),
    "ACCOUNT_LOCKED": (FORM, "Too many failed sign-in attempts for this account. Try again in {wait}."),
    "TOO_MANY_REQUESTS": (FORM, "Too many attempts from your network. Try again in {wait}."),
    # Email.
    "EMAIL_IS_THE_SAME": ("email", "That is already your email address."),
    "CHANGE_EMAIL_DISABLED": (FORM, "Changing the email address is turned off."),
    "EMAIL_ALREADY_VERIFIED": (FORM, "Your email address is already confirmed."),
    "EMAIL_MISMATCH": (FORM, "You can only ask for a link for your own address."),
    # Links.
    "INVALID_TOKEN": (FORM, "This link is not valid any more. It may have expired or been used already."),
    "TOKEN_EXPIRED": (FORM, "This link has expired. Ask for a new one."),
    "USER_NOT_FOUND": (FORM, "We could not find that account."),
    # Sessions.
    "NOT_ALLOWED_WHILE_IMPERSONATING": (FORM, "Not possible while you act as another user. Stop impersonating first."),
    "SESSION_EXPIRED": (FORM, "Confirm your password to do this."),
    "SESSION_NOT_FRESH": ("current_password", "You signed in a while ago: enter your current password to do this."),
}

_WHERE = re.compile(r"^\[body\.([A-Za-z_.]+)\]\s*(.*)$")


def describe(
    exc: errors.AuthError,
    settings: Settings,
    aliases: dict[str, str] | None = None,
    messages: PageMessages | None = None,
) -> FieldError:
    """The field an error belongs to and what to tell the person, for this form.

    ``aliases`` renames the table's field to the form's input (``password`` →
    ``new_password`` on the change-password form); ``messages`` is the table (by default the
    core's; the pages app passes it merged with its plugins')."""
    field, text = (MESSAGES if messages is None else messages).get(exc.code, (FORM, ""))
    if exc.code == "VALIDATION_ERROR":
        where: str | None = exc.field
        detail: str | None = exc.message if where is not None else None
        if where is None:  # a body model's errors, joined: the first one
            match = _WHERE.match(exc.message.split("; ")[0])
            if match:
                where, detail = match.group(1), match.group(2)
        if where is not None:
            field = where.split(".")[-1] if where else FORM
            text = detail[0].upper() + detail[1:] if detail else text
            if not text.endswith("."):
                text += "."
    if not text:
        text = exc.message if exc.status < 500 else "Something went wrong. Try again."
    wait = retry_after(exc)
    text = text.format(
        min=settings.password.min_length,
        max=settings.password.max_length,
        wait=wait_words(wait) if wait else "a few minutes",
        message=exc.message,
    )
    if aliases:
        field = aliases.get(field, field)
    return FieldError(field, text)


# Notices shown after a redirect (``?notice=<key>``): fixed texts, nothing echoed.
NOTICES: dict[str, str] = {
    "signed-out": "You are signed out.",
    "signed-up": "Welcome! Your account is ready.",
    "signed-up-verify": "Your account is created. We sent you a link to confirm your email address.",
    "check-email-verify": "Check your inbox: follow the link we sent to confirm your email address.",
    "reset-sent": "If an account uses that address, we sent it a link to choose a new password. Check your inbox.",
    "password-reset": "Your password is changed and every session is signed out. Sign in with the new password.",
    "profile-saved": "Your profile is saved.",
    "verification-sent": "We sent a new confirmation link. Check your inbox.",
    "email-change-sent": "We sent a link to the new address. Your email changes when you follow it.",
    "password-changed": "Your password is changed.",
    "password-changed-others-out": "Your password is changed and your other devices are signed out.",
    "session-revoked": "That session is signed out.",
    "others-revoked": "Every other session is signed out.",
    "account-deleted": "Your account and its data are deleted.",
    "delete-mail-sent": "We sent you a link to confirm the deletion. Your account stays until you follow it.",
    "reauthenticated": "Thanks, your password is confirmed.",
}
