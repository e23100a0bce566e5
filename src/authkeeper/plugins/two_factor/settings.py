"""The two-factor plugin's settings: the ``[two_factor]`` section."""

from __future__ import annotations

from dataclasses import dataclass

from ...core.settings import register_section


@dataclass(frozen=True, kw_only=True, slots=True)
class TwoFactorSettings:
    """TOTP (RFC 6238), backup codes and email one-time codes, as Better Auth's plugin."""

    enabled: bool = True
    """Serve the ``/two-factor/*`` endpoints and challenge 2FA users at sign-in."""
    issuer: str | None = None
    """Shown in authenticator apps; defaults to ``app_name``."""
    digits: int = 6
    """TOTP code length (6 or 8)."""
    period: int = 30
    """TOTP step in seconds."""
    backup_code_count: int = 10
    """Backup codes per set."""
    otp_expires_in: int = 300
    """Lifetime of an emailed one-time code in seconds."""
    otp_max_attempts: int = 5
    """Wrong codes before an emailed code dies."""
    challenge_expires_in: int = 600
    """Lifetime of a sign-in challenge (the ``two_factor`` cookie) in seconds."""
    challenge_max_attempts: int = 5
    """Wrong codes before a sign-in challenge dies."""
    trust_device_max_age: int = 2592000
    """Lifetime of a trusted device (30 days)."""

    def problems(self) -> list[str]:
        """What is out of range, one line each (``Settings.problems`` prefixes ``two_factor.``)."""
        found = [
            f"{key}: must be a positive number of seconds, not {value}"
            for key, value in {
                "period": self.period,
                "otp_expires_in": self.otp_expires_in,
                "challenge_expires_in": self.challenge_expires_in,
                "trust_device_max_age": self.trust_device_max_age,
            }.items()
            if value <= 0
        ]
        found += [
            f"{key}: must be at least 1, not {value}"
            for key, value in {
                "backup_code_count": self.backup_code_count,
                "otp_max_attempts": self.otp_max_attempts,
                "challenge_max_attempts": self.challenge_max_attempts,
            }.items()
            if value < 1
        ]
        if self.digits not in (6, 8):
            found.append(f"digits: must be 6 or 8, not {self.digits}")
        return found


register_section("two_factor", TwoFactorSettings)
