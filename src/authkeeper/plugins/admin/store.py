"""The store methods this plugin uses (``storage/sql_plugins.py``), as a typed view."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol, cast

from ...core.models import AuditEvent, User
from ...core.ports import Store
from ...storage.sql_plugins import AuditQuery, UserQuery


class AdminStore(Store, Protocol):
    def transaction(self) -> AbstractAsyncContextManager[AdminStore]: ...
    async def search_users(self, q: UserQuery) -> tuple[list[User], int]: ...
    async def delete_impersonations(self, impersonator_id: str) -> int: ...
    async def list_audit(self, q: AuditQuery) -> tuple[list[AuditEvent], int]: ...


def admin_store(store: Store) -> AdminStore:
    return cast(AdminStore, store)
