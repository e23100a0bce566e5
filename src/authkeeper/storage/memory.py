"""An in-memory :class:`~authkeeper.core.ports.Store`: a first-class backend for tests, with
the SQL stores' behaviour (``tests/storage`` runs the same suite on all three).

    auth = Authkeeper(settings, store=MemoryStore())

The composition root gives it the merged schema of the installed plugins
(:meth:`MemoryStore.use_tables`), so their fields and tables are there, with their keys,
foreign keys and cascades. Transactions are all or nothing (copy-on-write, one writer at a time);
a write outside a transaction is a transaction of its own. Nothing outlives the process.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from ..core.changes import SessionUpdate, UserUpdate
from ..core.crypto.random import generate_id
from ..core.models import Account, AuditEvent, Session, User, Verification, utcnow
from ..core.ports import UnknownFieldError
from ..core.queries import AuditQuery, UserQuery, Where
from ..core.settings import AdditionalField
from . import memory_query, rows
from .memory_data import Database, Row, Work
from .memory_query import matcher
from .schema import PluginSchema
from .tables import Tables, build_tables

_writing: contextvars.ContextVar[Database | None] = contextvars.ContextVar("authkeeper_memory_tx", default=None)


class MemoryStore:
    def __init__(
        self,
        additional_fields: Sequence[AdditionalField] = (),
        schemas: Sequence[PluginSchema] = (),
        *,
        _db: Database | None = None,
        _work: Work | None = None,
    ) -> None:
        self._db = _db or Database(build_tables(additional_fields, schemas))
        self._work = _work

    def use_tables(self, tables: Tables) -> None:
        """Adopt the merged schema of the installed plugins (the composition root calls it)."""
        self._db.use(tables)

    @property
    def t(self) -> Tables:
        return self._db.schema

    # -- the unit of work -----------------------------------------------------------------
    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemoryStore]:
        if self._work is not None:
            yield self
            return
        if _writing.get() is self._db:
            raise RuntimeError("a write outside the open transaction would wait for it: use its store")
        async with self._db.lock:
            work = Work(self._db)
            token = _writing.set(self._db)
            try:
                yield MemoryStore(_db=self._db, _work=work)
                work.commit()
            finally:
                work.copies, work.done = {}, True  # rolled back, if not committed
                _writing.reset(token)

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[Work]:
        """The transaction's work, or a transaction of its own; one statement, all or nothing."""
        async with self.transaction() as tx:
            assert tx._work is not None
            with tx._work.statement():
                yield tx._work

    def _read(self) -> Work:
        return self._work or Work(self._db)

    async def lock(self, key: str) -> None:
        if self._work is None:
            raise RuntimeError("lock() needs a transaction")

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _user(self, row: Row) -> User:
        return rows.user(row, self.t.user_flags)

    def _one(self, table: str, where: Where) -> Row | None:
        found = self._read().scan(table, matcher(where))
        return found[0] if found else None

    # -- users ----------------------------------------------------------------------------
    async def create_user(self, user: User, account: Account | None = None) -> None:
        async with self._write() as w:
            w.insert("user", rows.user_values(user))
            if account is not None:
                w.insert("account", rows.account_values(account))

    async def find_user_by_id(self, user_id: str) -> User | None:
        row = self._read().rows("user").get((user_id,))
        return self._user(row) if row else None

    async def find_user_by_email(self, email: str) -> User | None:
        row = self._one("user", {"email": email})
        return self._user(row) if row else None

    async def update_user(self, user_id: str, change: UserUpdate, *, expected: UserUpdate | None = None) -> User | None:
        values = change.columns()
        rows.check_fields(self.t.user, values)
        where: dict[str, Any] = {"id": user_id, **(expected.columns() if expected else {})}
        rows.check_fields(self.t.user, where)
        async with self._write() as w:
            found = w.scan("user", matcher(where))
            if not found:
                return None
            return self._user(w.update("user", found[0], values))

    async def delete_user(self, user_id: str) -> bool:
        async with self._write() as w:
            row = w.rows("user").get((user_id,))
            if row is not None:
                w.delete("user", row)
        return row is not None

    async def list_users(self, *, limit: int = 100, offset: int = 0) -> list[User]:
        found = sorted(self._read().rows("user").values(), key=lambda r: r["createdAt"])
        return [self._user(r) for r in found[offset : offset + limit]]

    async def count_users(self) -> int:
        return len(self._read().rows("user"))

    async def search_users(self, q: UserQuery) -> tuple[list[User], int]:
        page, total = memory_query.search_users(list(self._read().rows("user").values()), q)
        return [self._user(r) for r in page], total

    # -- accounts -------------------------------------------------------------------------
    async def create_account(self, account: Account) -> None:
        async with self._write() as w:
            w.insert("account", rows.account_values(account))

    async def list_accounts(self, user_id: str) -> list[Account]:
        found = self._read().scan("account", matcher({"userId": user_id}))
        return [rows.account(r) for r in sorted(found, key=lambda r: r["createdAt"])]

    async def find_account(self, user_id: str, provider_id: str) -> Account | None:
        row = self._one("account", {"userId": user_id, "providerId": provider_id})
        return rows.account(row) if row else None

    async def update_account_password(self, account_id: str, password_hash: str) -> None:
        async with self._write() as w:
            row = w.rows("account").get((account_id,))
            if row is not None:
                w.update("account", row, {"password": password_hash, "updatedAt": utcnow()})

    async def delete_account(self, user_id: str, account_row_id: str) -> bool:
        return await self._delete("account", {"id": account_row_id, "userId": user_id}) > 0

    # -- sessions -------------------------------------------------------------------------
    async def create_session(self, session: Session) -> None:
        async with self._write() as w:
            w.insert("session", rows.session_values(session))

    async def find_session(self, token: str) -> tuple[Session, User] | None:
        read = self._read()
        row = self._one("session", {"token": token})
        user = read.rows("user").get((row["userId"],)) if row else None
        if row is None or user is None:
            return None
        return rows.session(row), self._user(user)

    async def list_sessions(self, user_id: str, now: datetime) -> list[Session]:
        found = self._read().scan("session", lambda r: r["userId"] == user_id and r["expiresAt"] > now)
        return [rows.session(r) for r in sorted(found, key=lambda r: r["createdAt"])]

    async def update_session(self, token: str, change: SessionUpdate) -> None:
        values = change.columns()
        async with self._write() as w:
            for row in w.scan("session", matcher({"token": token})):
                w.update("session", row, values)

    async def _delete(self, table: str, where: Where) -> int:
        rows.check_fields(self.t.metadata.tables[table], where)
        async with self._write() as w:
            found = w.scan(table, matcher(where))
            for row in found:
                w.delete(table, row)
        return len(found)

    async def delete_session(self, token: str, user_id: str | None = None) -> bool:
        where = {"token": token, **({"userId": user_id} if user_id else {})}
        return await self._delete("session", where) > 0

    async def delete_session_by_id(self, session_id: str, user_id: str) -> bool:
        return await self._delete("session", {"id": session_id, "userId": user_id}) > 0

    async def delete_user_sessions(self, user_id: str, keep_token: str | None = None) -> int:
        async with self._write() as w:
            found = w.scan("session", lambda r: r["userId"] == user_id and (not keep_token or r["token"] != keep_token))
            for row in found:
                w.delete("session", row)
        return len(found)

    async def delete_sessions_matching(self, fields: Mapping[str, Any]) -> int:
        if not fields:
            raise ValueError("delete_sessions_matching needs at least one field")
        return await self._delete("session", fields)

    # -- verification ---------------------------------------------------------------------
    async def create_verification(self, identifier: str, value: str, expires_at: datetime) -> None:
        now = utcnow()
        async with self._write() as w:
            w.insert(
                "verification",
                {
                    "id": generate_id(),
                    "identifier": identifier,
                    "value": value,
                    "expiresAt": expires_at,
                    "createdAt": now,
                    "updatedAt": now,
                },
            )

    def _live(self, found: list[Row], now: datetime) -> Verification | None:
        live = [r for r in found if r["expiresAt"] > now]
        return rows.verification(max(live, key=lambda r: r["createdAt"])) if live else None

    async def find_verification(self, identifier: str, now: datetime) -> Verification | None:
        return self._live(self._read().scan("verification", matcher({"identifier": identifier})), now)

    async def consume_verification(self, identifier: str, now: datetime) -> Verification | None:
        async with self._write() as w:
            found = w.scan("verification", matcher({"identifier": identifier}))
            for row in found:
                w.delete("verification", row)
        return self._live(found, now)

    async def delete_verifications(self, *, prefix: str, value: str | None = None) -> int:
        async with self._write() as w:
            found = w.scan(
                "verification", lambda r: r["identifier"].startswith(prefix) and (value is None or r["value"] == value)
            )
            for row in found:
                w.delete("verification", row)
        return len(found)

    async def swap_verification_value(self, identifier: str, expected: str, new: str) -> bool:
        async with self._write() as w:
            found = w.scan("verification", matcher({"identifier": identifier, "value": expected}))
            for row in found:
                w.update("verification", row, {"value": new})
        return bool(found)

    # -- lockout counters -----------------------------------------------------------------
    async def record_failure(self, key: str, now: datetime, window: int) -> tuple[int, datetime]:
        async with self._write() as w:
            row = w.rows("lockout").get((key,))
            if row is None:
                row = w.insert("lockout", {"key": key, "count": 1, "windowStart": now})
            elif row["windowStart"] <= now - timedelta(seconds=window):
                row = w.update("lockout", row, {"count": 1, "windowStart": now})
            else:
                row = w.update("lockout", row, {"count": row["count"] + 1})
        return int(row["count"]), row["windowStart"]

    async def get_failures(self, key: str) -> tuple[int, datetime] | None:
        row = self._read().rows("lockout").get((key,))
        return (int(row["count"]), row["windowStart"]) if row else None

    async def clear_failures(self, key: str) -> None:
        await self._delete("lockout", {"key": key})

    async def cleanup(self, now: datetime) -> dict[str, int]:
        removed: dict[str, int] = {}
        async with self._write() as w:
            for name, table, column, cutoff in (
                ("sessions", "session", "expiresAt", now),
                ("verifications", "verification", "expiresAt", now),
                ("lockouts", "lockout", "windowStart", now - timedelta(days=1)),
            ):
                found = [r for r in w.rows(table).values() if r[column] <= cutoff]
                for row in found:
                    w.delete(table, row)
                removed[name] = len(found)
        return removed

    # -- the audit log --------------------------------------------------------------------
    async def add_audit(self, event: AuditEvent) -> None:
        async with self._write() as w:
            w.insert("auditEvent", rows.audit_values(event))

    async def list_audit(self, q: AuditQuery) -> tuple[list[AuditEvent], int]:
        page, total = memory_query.list_audit(list(self._read().rows("auditEvent").values()), q)
        return [rows.audit_event(r) for r in page], total

    async def prune_audit(self, before: datetime) -> int:
        async with self._write() as w:
            found = w.scan("auditEvent", lambda r: r["createdAt"] < before)
            for row in found:
                w.delete("auditEvent", row)
        return len(found)

    # -- records --------------------------------------------------------------------------
    def _plugin_table(self, name: str) -> str:
        if name not in self.t.by_name:
            raise UnknownFieldError(f"table {name}: no installed plugin declares it")
        return name

    async def insert(self, table: str, row: Mapping[str, Any]) -> None:
        async with self._write() as w:
            w.insert(self._plugin_table(table), row)

    async def get(self, table: str, where: Where) -> dict[str, Any] | None:
        found = await self.select(table, where, limit=1)
        return found[0] if found else None

    async def select(
        self,
        table: str,
        where: Where | None = None,
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        name = self._plugin_table(table)
        rows.check_fields(self.t.by_name[name], [*(where or {}), *([order_by] if order_by else [])])
        found = self._read().scan(name, matcher(where))
        if order_by is not None:
            found = sorted(found, key=lambda r: (0,) if r[order_by] is None else (1, r[order_by]), reverse=descending)
        return [dict(r) for r in found[:limit]]

    async def update(
        self, table: str, where: Where, values: Mapping[str, Any], *, expected: Where | None = None
    ) -> int:
        name = self._plugin_table(table)
        rows.check_fields(self.t.by_name[name], [*where, *(expected or {})])
        match_where, match_expected = matcher(where), matcher(expected)
        async with self._write() as w:
            found = w.scan(name, lambda r: match_where(r) and match_expected(r))
            for row in found:
                w.update(name, row, values)
        return len(found)

    async def delete(self, table: str, where: Where) -> int:
        return await self._delete(self._plugin_table(table), where)
