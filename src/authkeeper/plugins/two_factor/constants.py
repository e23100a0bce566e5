"""Names and numbers of the two-factor plugin (Better Auth's, spec §8.1 and §5.3)."""

from __future__ import annotations

PLUGIN_ID = "two-factor"

# Cookies (logical names; the wire name gets the cookie prefix).
TWO_FACTOR_COOKIE = "two_factor"
TRUST_DEVICE_COOKIE = "trust_device"

# Verification-table identifiers.
CHALLENGE_PREFIX = "2fa-"
"""A sign-in challenge ``2fa-<20 chars>`` → user id; the same string is the cookie value."""
CHALLENGE_ID_LENGTH = 20
ATTEMPTS_PREFIX = "2fa-attempts-"
"""``2fa-attempts-<challenge id>`` → wrong codes so far (``"0"``…)."""
OPTIONS_PREFIX = "2fa-options-"
"""``2fa-options-<challenge id>`` → the pending sign-in's remember-me and method (authkeeper's)."""
OTP_PREFIX = "2fa-otp-"
"""``2fa-otp-<challenge id | userId!sessionId>`` → ``<keyed hash of the code>:<wrong tries>``."""
TRUST_PREFIX = "trust-device-"
"""``trust-device-<32 chars>`` → user id, for a trusted browser."""
TRUST_ID_LENGTH = 32

# Codes.
OTP_DIGITS = 6
BACKUP_CODE_LENGTH = 10
"""Characters of ``[a-zA-Z0-9]`` per backup code, shown as ``xxxxx-xxxxx`` (~59 bits)."""

# Lockout across challenges and factors, as Better Auth 1.7.25's ``accountLockout``
# (NIST SP 800-63B §5.2.2: limit consecutive failed authentication attempts).
LOCKOUT_MAX_FAILURES = 10
LOCKOUT_SECONDS = 900

SIGN_IN_STAGE_ORDER = 50
"""After admin's ban check (10): a banned user is never challenged."""
