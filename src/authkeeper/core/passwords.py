"""Password rules (NIST SP 800-63B §3.1.1.2): length bounds and a blocklist, no composition rules."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from . import errors
from .settings import PasswordSettings


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files("authkeeper").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def check_length(settings: PasswordSettings, password: str) -> None:
    """Length only: for passwords being checked (sign-in, current password), not chosen.

    Length counts code points; the maximum also bounds hashing work (a DoS guard).
    """
    if len(password) > settings.max_length:
        raise errors.AuthError(errors.PASSWORD_TOO_LONG)


def check_new_password(settings: PasswordSettings, password: str, *, email: str | None = None) -> None:
    """Raise the matching error if ``password`` may not be chosen."""
    if len(password) < settings.min_length:
        raise errors.AuthError(errors.PASSWORD_TOO_SHORT)
    check_length(settings, password)
    folded = password.strip().lower()
    if settings.reject_email and email and folded == email.strip().lower():
        raise errors.AuthError(errors.PASSWORD_SAME_AS_EMAIL)
    if settings.reject_common and folded in common_passwords():
        raise errors.AuthError(errors.PASSWORD_TOO_COMMON)
