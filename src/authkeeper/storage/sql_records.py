"""The records port (the plugins' own tables) and the audit log on SQL."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..core.models import AuditEvent
from ..core.ports import DuplicateError, UnknownFieldError
from ..core.queries import AuditQuery, Where
from . import rows
from .rows import check_fields
from .sql_base import SqlBase, where_clause


class SqlRecords(SqlBase):
    def _table(self, name: str) -> sa.Table:
        table = self.t.by_name.get(name)
        if table is None:
            raise UnknownFieldError(f"table {name}: no installed plugin declares it")
        return table

    # -- records --------------------------------------------------------------------------
    async def insert(self, table: str, row: Mapping[str, Any]) -> None:
        t = self._table(table)
        check_fields(t, row)
        try:
            async with self._write() as conn:
                await conn.execute(sa.insert(t).values(dict(row)))
        except IntegrityError:
            raise DuplicateError(table) from None

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
        t = self._table(table)
        stmt = sa.select(t).where(*where_clause(t, where))
        if order_by is not None:
            check_fields(t, (order_by,))
            stmt = stmt.order_by(t.c[order_by].desc() if descending else t.c[order_by].asc())
        if limit is not None:
            stmt = stmt.limit(limit)
        async with self._read() as conn:
            return [dict(r) for r in (await conn.execute(stmt)).mappings().all()]

    async def update(
        self, table: str, where: Where, values: Mapping[str, Any], *, expected: Where | None = None
    ) -> int:
        t = self._table(table)
        check_fields(t, values)
        conds = where_clause(t, where) + where_clause(t, expected)
        try:
            async with self._write() as conn:
                result = await conn.execute(sa.update(t).where(*conds).values(dict(values)))
        except IntegrityError:
            raise DuplicateError(table) from None
        return int(result.rowcount or 0)

    async def delete(self, table: str, where: Where) -> int:
        t = self._table(table)
        async with self._write() as conn:
            result = await conn.execute(sa.delete(t).where(*where_clause(t, where)))
        return int(result.rowcount or 0)

    # -- the audit log --------------------------------------------------------------------
    async def add_audit(self, event: AuditEvent) -> None:
        async with self._write() as conn:
            await conn.execute(sa.insert(self.t.audit).values(rows.audit_values(event)))

    async def list_audit(self, q: AuditQuery) -> tuple[list[AuditEvent], int]:
        a = self.t.audit
        conds: list[sa.ColumnElement[bool]] = []
        if q.user_id:
            conds.append(sa.or_(a.c.userId == q.user_id, a.c.actorId == q.user_id))
        if q.events:
            conds.append(a.c.event.in_(q.events))
        if q.since:
            conds.append(a.c.createdAt >= q.since)
        if q.until:
            conds.append(a.c.createdAt < q.until)
        stmt = sa.select(a).where(*conds).order_by(a.c.createdAt.desc(), a.c.id).limit(q.limit).offset(q.offset)
        count = sa.select(sa.func.count()).select_from(a).where(*conds)
        async with self._read() as conn:
            found = (await conn.execute(stmt)).mappings().all()
            total = int((await conn.execute(count)).scalar_one())
        return [rows.audit_event(r) for r in found], total

    async def prune_audit(self, before: datetime) -> int:
        a = self.t.audit
        async with self._write() as conn:
            result = await conn.execute(sa.delete(a).where(a.c.createdAt < before))
        return int(result.rowcount or 0)
