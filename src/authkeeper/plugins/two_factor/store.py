"""The two-factor plugin's queries on its own ``twoFactor`` table (:mod:`.schema`), through the
store's records port, so they work on every backend. Core storage knows nothing of them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ...core.ports import Store
from ...core.queries import any_of, lt
from .schema import TABLE


@dataclass(slots=True)
class TwoFactorRecord:
    """A user's second factor: encrypted TOTP secret and backup codes (Better Auth's format)."""

    id: str
    user_id: str
    secret: str
    backup_codes: str
    verified: bool = True
    failed_count: int = 0
    locked_until: datetime | None = None
    last_totp_counter: int | None = None
    otp_enabled: bool = False
    """authkeeper's own: the user also enrolled emailed codes (``otpEnabled``; NULL in a row
    Better Auth wrote). See ``plugins.two_factor.challenge.methods_of``."""


def _record(row: Mapping[str, Any]) -> TwoFactorRecord:
    return TwoFactorRecord(
        id=row["id"],
        user_id=row["userId"],
        secret=row["secret"],
        backup_codes=row["backupCodes"],
        verified=True if row["verified"] is None else bool(row["verified"]),
        failed_count=int(row["failedVerificationCount"] or 0),
        locked_until=row["lockedUntil"],
        last_totp_counter=row["lastTotpCounter"],
        otp_enabled=bool(row["otpEnabled"]),
    )


class TwoFactorStore:
    """The plugin's queries over ``store`` (the app's store, or a transaction's)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def get_two_factor(self, user_id: str) -> TwoFactorRecord | None:
        row = await self.store.get(TABLE, {"userId": user_id})
        return _record(row) if row else None

    async def put_two_factor(self, record: TwoFactorRecord) -> None:
        """Replace the user's two-factor row (one per user)."""
        async with self.store.transaction() as tx:
            await tx.delete(TABLE, {"userId": record.user_id})
            await tx.insert(
                TABLE,
                {
                    "id": record.id,
                    "userId": record.user_id,
                    "secret": record.secret,
                    "backupCodes": record.backup_codes,
                    "verified": record.verified,
                    "failedVerificationCount": record.failed_count,
                    "lockedUntil": record.locked_until,
                    "lastTotpCounter": record.last_totp_counter,
                    "otpEnabled": record.otp_enabled,
                },
            )

    async def update_two_factor(
        self, user_id: str, values: Mapping[str, Any], *, expected: Mapping[str, Any] | None = None
    ) -> bool:
        """Update the user's row, only while its columns hold ``expected`` (compare-and-swap);
        True if a row was updated."""
        return await self.store.update(TABLE, {"userId": user_id}, values, expected=expected) > 0

    async def delete_two_factor(self, user_id: str) -> None:
        await self.store.delete(TABLE, {"userId": user_id})

    async def swap_backup_codes(self, user_id: str, expected: str, new: str) -> bool:
        """Compare-and-swap: True for exactly one of several concurrent callers."""
        return await self.update_two_factor(user_id, {"backupCodes": new}, expected={"backupCodes": expected})

    async def claim_totp_counter(self, user_id: str, counter: int) -> bool:
        """Record a TOTP step as used; False if it (or a later one) was used already."""
        return await self.update_two_factor(
            user_id, {"lastTotpCounter": counter}, expected={"lastTotpCounter": any_of(None, lt(counter))}
        )


def plugin_store(store: Store) -> TwoFactorStore:
    return TwoFactorStore(store)
