"""The store methods this plugin uses (``storage/sql_plugins.py``), as a typed view."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, cast

from ...core.models import TwoFactorRecord
from ...storage.base import Store


class TwoFactorStore(Store, Protocol):
    def transaction(self) -> AbstractAsyncContextManager[TwoFactorStore]: ...  # type: ignore[override]
    async def get_two_factor(self, user_id: str) -> TwoFactorRecord | None: ...
    async def put_two_factor(self, record: TwoFactorRecord) -> None: ...
    async def update_two_factor(self, user_id: str, values: Mapping[str, Any], *,
                                expected: Mapping[str, Any] | None = None) -> bool: ...
    async def delete_two_factor(self, user_id: str) -> None: ...
    async def swap_backup_codes(self, user_id: str, expected: str, new: str) -> bool: ...
    async def claim_totp_counter(self, user_id: str, counter: int) -> bool: ...
    async def swap_verification_value(self, identifier: str, expected: str, new: str) -> bool: ...


def plugin_store(store: Store) -> TwoFactorStore:
    return cast(TwoFactorStore, store)
