"""Random identifiers and tokens from the OS CSPRNG."""

from __future__ import annotations

import secrets
import string

ALPHANUMERIC = string.ascii_letters + string.digits
URL_SAFE = ALPHANUMERIC + "-_"
LOWER_ALPHANUMERIC = string.ascii_lowercase + string.digits


def generate_id(size: int = 32, alphabet: str = ALPHANUMERIC) -> str:
    """A random string like Better Auth's ``generateId`` (32 chars of ``[A-Za-z0-9]``).

    32 alphanumeric characters carry ~190 bits, above ASVS 7.2.3's 128-bit floor.
    """
    return "".join(secrets.choice(alphabet) for _ in range(size))
