"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP), as Better Auth's
authenticator-app factor uses them.

Better Auth's TOTP secret is a 32-character random string whose UTF-8 bytes are the HMAC
key; authenticator apps receive those bytes base32-encoded in an ``otpauth://`` URI.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import string
from datetime import datetime
from urllib.parse import quote

from .random import URL_SAFE, generate_id

DEFAULT_DIGITS = 6
"""RFC 4226 §5.3: at least six digits."""
DEFAULT_PERIOD = 30
"""RFC 6238 §5.2: a 30-second time step."""
DEFAULT_WINDOW = 1
"""RFC 6238 §5.2 (resynchronisation): accept one step of clock drift either way."""
SECRET_LENGTH = 32
"""Better Auth's ``generateRandomString(32)``: 32 × 6 bits = 192 bits, above RFC 4226 §4's 128."""
BASE32_PREFIX = "base32:"
"""Better Auth 1.7.25 also reads secrets stored as ``base32:<encoded key>``."""

_FORM_SAFE = frozenset(string.ascii_letters + string.digits + "*-._")


def generate_secret() -> str:
    """A new secret in Better Auth's form: 32 characters of ``[A-Za-z0-9_-]``."""
    return generate_id(SECRET_LENGTH, URL_SAFE)


def secret_key(secret: str) -> bytes:
    """The HMAC key of a stored (decrypted) secret."""
    if secret.startswith(BASE32_PREFIX):
        encoded = secret[len(BASE32_PREFIX) :].upper()
        return base64.b32decode(encoded + "=" * (-len(encoded) % 8))
    return secret.encode("utf-8")


def hotp(key: bytes, counter: int, *, digits: int = DEFAULT_DIGITS, digest: str = "sha1") -> str:
    """RFC 4226 §5.3: HMAC of the 8-byte big-endian counter, dynamically truncated."""
    if not 1 <= digits <= 10:
        raise ValueError("digits must be between 1 and 10")
    mac = hmac.new(key, counter.to_bytes(8, "big"), getattr(hashlib, digest)).digest()
    offset = mac[-1] & 0x0F
    binary = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def time_step(at: datetime | float, period: int = DEFAULT_PERIOD) -> int:
    """RFC 6238 §4.2: T = floor((unix time − T0) / X) with T0 = 0."""
    seconds = at.timestamp() if isinstance(at, datetime) else at
    return int(seconds // period)


def totp(
    key: bytes,
    at: datetime | float,
    *,
    period: int = DEFAULT_PERIOD,
    digits: int = DEFAULT_DIGITS,
    digest: str = "sha1",
) -> str:
    """The code for the time step containing ``at``."""
    return hotp(key, time_step(at, period), digits=digits, digest=digest)


def match_step(
    key: bytes,
    code: str,
    at: datetime | float,
    *,
    period: int = DEFAULT_PERIOD,
    digits: int = DEFAULT_DIGITS,
    window: int = DEFAULT_WINDOW,
) -> int | None:
    """The time step ``code`` belongs to (within ``window`` steps of ``at``), or None.

    Every candidate is computed and compared in constant time, so the answer's timing
    does not say which step (if any) matched.
    """
    given = code.encode("utf-8")
    current = time_step(at, period)
    found: int | None = None
    for step in range(current - window, current + window + 1):
        expected = hotp(key, step, digits=digits).encode()
        if hmac.compare_digest(expected, given) and found is None:
            found = step
    return found


def base32_nopad(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def _uri_component(value: str) -> str:
    # JavaScript's encodeURIComponent.
    return quote(value, safe="-_.!~*'()")


def _form_value(value: str) -> str:
    # URLSearchParams' application/x-www-form-urlencoded serialisation.
    out: list[str] = []
    for char in value:
        if char in _FORM_SAFE:
            out.append(char)
        elif char == " ":
            out.append("+")
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
    return "".join(out)


def otpauth_uri(
    key: bytes,
    *,
    issuer: str,
    account: str,
    digits: int = DEFAULT_DIGITS,
    period: int = DEFAULT_PERIOD,
) -> str:
    """The provisioning URI authenticator apps read (byte for byte what Better Auth builds)::

    otpauth://totp/<issuer>:<account>?secret=<base32>&issuer=<issuer>&digits=6&period=30
    """
    label = f"{_uri_component(issuer)}:{_uri_component(account)}"
    params = (("secret", base32_nopad(key)), ("issuer", issuer), ("digits", str(digits)), ("period", str(period)))
    return f"otpauth://totp/{label}?" + "&".join(f"{k}={_form_value(v)}" for k, v in params)
