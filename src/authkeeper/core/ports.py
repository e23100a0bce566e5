"""The storage ports the flows use (implemented in ``authkeeper.storage``; storage holds no
business rule).

Each concern is a narrow port (:class:`Users`, :class:`Accounts`, :class:`Sessions`,
:class:`Verifications`, :class:`Counters`, :class:`AuditLog`, :class:`Records` for the plugins'
own tables) and :class:`UnitOfWork` binds them to one transaction; :class:`Store` is their union,
what a backend implements (SQL: ``storage.sql``; memory: ``storage.memory``). A function asks
for the narrowest port it needs. Every backend passes ``tests/storage``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

from .changes import UNSET, SessionUpdate, Unset, UserUpdate
from .models import Account, AuditEvent, Session, User, Verification
from .queries import AuditQuery, Listed, Operator, UserQuery, Where

__all__ = [
    "UNSET",
    "Accounts",
    "AuditLog",
    "AuditQuery",
    "Counters",
    "DuplicateError",
    "Listed",
    "Operator",
    "Records",
    "SessionUpdate",
    "Sessions",
    "Store",
    "UnitOfWork",
    "UnknownFieldError",
    "Unset",
    "UserQuery",
    "UserUpdate",
    "Users",
    "Verifications",
    "Where",
]


class DuplicateError(Exception):
    """A unique constraint (or a foreign key) refused the write (e.g. the email is taken)."""


class UnknownFieldError(ValueError):
    """A write named a field, or a table, that the merged schema does not declare (a plugin's
    field while that plugin is not installed)."""


class UnitOfWork(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[Store]:
        """A store bound to one write transaction: all or nothing. Within it, ``transaction()``
        is the same transaction."""
        ...

    async def lock(self, key: str) -> None:
        """In a transaction: wait for, then hold until it ends, the lock named ``key``, so
        read-then-write steps on the same key (e.g. one user's links of a kind) never
        interleave. PostgreSQL: a transaction-scoped advisory lock; SQLite and memory: their
        write transactions are serialised already."""
        ...


class Users(Protocol):
    async def create_user(self, user: User, account: Account | None = None) -> None:
        """Insert a user (and its first account); raises DuplicateError if the email exists."""
        ...

    async def find_user_by_id(self, user_id: str) -> User | None: ...
    async def find_user_by_email(self, email: str) -> User | None: ...
    async def update_user(self, user_id: str, change: UserUpdate, *, expected: UserUpdate | None = None) -> User | None:
        """Raises DuplicateError on a taken email. None if the user is absent or, with
        ``expected``, if one of its fields no longer holds the given value (compare-and-set)."""
        ...

    async def delete_user(self, user_id: str) -> bool:
        """The user and what hangs on it: sessions, accounts, plugin rows with a user key."""
        ...

    async def list_users(self, *, limit: int = 100, offset: int = 0) -> list[User]: ...
    async def count_users(self) -> int: ...
    async def search_users(self, q: UserQuery) -> tuple[list[User], int]:
        """A page of users matching ``q``, and how many match in all."""
        ...


class Accounts(Protocol):
    async def create_account(self, account: Account) -> None: ...
    async def list_accounts(self, user_id: str) -> list[Account]: ...
    async def find_account(self, user_id: str, provider_id: str) -> Account | None: ...
    async def update_account_password(self, account_id: str, password_hash: str) -> None: ...
    async def delete_account(self, user_id: str, account_row_id: str) -> bool: ...


class Sessions(Protocol):
    async def create_session(self, session: Session) -> None: ...
    async def find_session(self, token: str) -> tuple[Session, User] | None: ...
    async def list_sessions(self, user_id: str, now: datetime) -> list[Session]: ...
    async def update_session(self, token: str, change: SessionUpdate) -> None: ...
    async def delete_session(self, token: str, user_id: str | None = None) -> bool: ...
    async def delete_session_by_id(self, session_id: str, user_id: str) -> bool: ...
    async def delete_user_sessions(self, user_id: str, keep_token: str | None = None) -> int: ...
    async def delete_sessions_matching(self, fields: Mapping[str, Any]) -> int:
        """End every session whose plugin ``fields`` hold these values (admin: the
        impersonations one user started); returns how many."""
        ...


class Verifications(Protocol):
    """Single-use and short-lived values."""

    async def create_verification(self, identifier: str, value: str, expires_at: datetime) -> None: ...
    async def find_verification(self, identifier: str, now: datetime) -> Verification | None: ...
    async def consume_verification(self, identifier: str, now: datetime) -> Verification | None:
        """Delete and return the live row; exactly one concurrent caller gets it."""
        ...

    async def delete_verifications(self, *, prefix: str, value: str | None = None) -> int: ...
    async def swap_verification_value(self, identifier: str, expected: str, new: str) -> bool:
        """Compare-and-set on a row's value (attempt counters): True for exactly one of several
        concurrent callers expecting the same value."""
        ...


class Counters(Protocol):
    """Failure counters in fixed windows (the sign-in lockout, two-factor tries)."""

    async def record_failure(self, key: str, now: datetime, window: int) -> tuple[int, datetime]:
        """Atomically count one failure; returns the count and the window's start."""
        ...

    async def get_failures(self, key: str) -> tuple[int, datetime] | None: ...
    async def clear_failures(self, key: str) -> None: ...


class AuditLog(Protocol):
    """The audit log (core: every flow writes to it)."""

    async def add_audit(self, event: AuditEvent) -> None: ...
    async def list_audit(self, q: AuditQuery) -> tuple[list[AuditEvent], int]:
        """Newest first; and how many match in all."""
        ...

    async def prune_audit(self, before: datetime) -> int:
        """Remove events older than ``before``; returns how many."""
        ...


class Records(Protocol):
    """Rows of the plugins' own tables (declared in their :class:`~authkeeper.storage.schema.
    PluginSchema`), as dictionaries keyed by column name; a plugin's query module maps them to
    its records. ``where`` is a :data:`~authkeeper.core.queries.Where`."""

    async def insert(self, table: str, row: Mapping[str, Any]) -> None:
        """Columns left out are empty; DuplicateError on a unique key or a foreign key."""
        ...

    async def get(self, table: str, where: Where) -> dict[str, Any] | None: ...
    async def select(
        self,
        table: str,
        where: Where | None = None,
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[dict[str, Any]]: ...
    async def update(
        self, table: str, where: Where, values: Mapping[str, Any], *, expected: Where | None = None
    ) -> int:
        """Set ``values`` on the rows ``where`` names, only while they also match ``expected``
        (compare-and-set: of concurrent callers expecting one state, one wins); how many."""
        ...

    async def delete(self, table: str, where: Where) -> int: ...


class Store(Users, Accounts, Sessions, Verifications, Counters, AuditLog, Records, UnitOfWork, Protocol):
    """Everything authkeeper persists."""

    async def ping(self) -> None: ...
    async def close(self) -> None: ...
    async def cleanup(self, now: datetime) -> dict[str, int]:
        """Remove expired sessions, verification rows and stale failure counters."""
        ...
