"""The two-factor plugin's audit events (stable names: clients filter on them)."""

from __future__ import annotations

from enum import StrEnum


class TwoFactorEvent(StrEnum):
    TWO_FACTOR_ENABLED = "two-factor-enabled"
    TWO_FACTOR_DISABLED = "two-factor-disabled"
    BACKUP_CODE_USED = "backup-code-used"
    BACKUP_CODES_REGENERATED = "backup-codes-regenerated"
