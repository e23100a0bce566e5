"""The two-factor plugin's error codes: Better Auth's names, messages and statuses (spec §8.1)."""

from __future__ import annotations

from ...core.errors import define

OTP_NOT_ENABLED = define("OTP_NOT_ENABLED", 400, "OTP not enabled")
OTP_NOT_CONFIGURED = define("OTP_NOT_CONFIGURED", 400, "OTP is not available")
OTP_HAS_EXPIRED = define("OTP_HAS_EXPIRED", 400, "OTP has expired")
TOTP_NOT_ENABLED = define("TOTP_NOT_ENABLED", 400, "TOTP not enabled")
TOTP_ALREADY_ENABLED = define("TOTP_ALREADY_ENABLED", 400, "TOTP is already enabled")
TOTP_NOT_CONFIGURED = define("TOTP_NOT_CONFIGURED", 400, "TOTP is not available")
TWO_FACTOR_NOT_ENABLED = define("TWO_FACTOR_NOT_ENABLED", 400, "Two factor isn't enabled")
BACKUP_CODES_NOT_ENABLED = define("BACKUP_CODES_NOT_ENABLED", 400, "Backup codes aren't enabled")
INVALID_BACKUP_CODE = define("INVALID_BACKUP_CODE", 401, "Invalid backup code")
INVALID_CODE = define("INVALID_CODE", 401, "Invalid code")
TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE = define(
    "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE", 400, "Too many attempts. Please request a new code."
)
ACCOUNT_TEMPORARILY_LOCKED = define(
    "ACCOUNT_TEMPORARILY_LOCKED",
    429,
    "Too many failed verification attempts. Your account is temporarily locked. Please try again later.",
)
INVALID_TWO_FACTOR_COOKIE = define("INVALID_TWO_FACTOR_COOKIE", 401, "Invalid two factor cookie")
SECRET_UNREADABLE = define(
    "TWO_FACTOR_SECRET_UNREADABLE",
    500,
    "The server cannot read this account's two-factor settings. Please contact support.",
)
"""authkeeper's own: none of the configured secrets opens the stored TOTP secret or backup
codes (the server secret was changed without keeping the old one in ``previous_secrets``)."""
