"""Store methods for the plugins (two-factor, admin, audit): plugins never write SQL."""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from ..core.crypto.random import generate_id
from ..core.models import AuditEvent, TwoFactorRecord, User
from .tables import Tables

Operator = Literal["eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "contains", "starts_with", "ends_with"]


@dataclass(frozen=True, slots=True)
class UserQuery:
    """A search over users for the admin list (every value is bound, LIKE input escaped)."""

    search_field: str | None = None
    search_operator: Literal["contains", "starts_with", "ends_with"] = "contains"
    search_value: str | None = None
    filters: tuple[tuple[str, Operator, Any], ...] = ()
    has_role: str | None = None
    """Users holding this role, alone or in a comma-separated list (``admin,moderator``)."""
    default_role: str | None = None
    """With ``has_role``: the role of users whose role column is empty."""
    sort_by: str | None = None
    sort_direction: Literal["asc", "desc"] = "asc"
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class AuditQuery:
    user_id: str | None = None
    events: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0


def like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class PluginStoreMixin:
    t: Tables

    def _read(self) -> AbstractAsyncContextManager[AsyncConnection]:  # provided by SqlStore
        raise NotImplementedError

    def _write(self) -> AbstractAsyncContextManager[AsyncConnection]:  # provided by SqlStore
        raise NotImplementedError
    _user: Any

    # -- two-factor -----------------------------------------------------------------------
    @staticmethod
    def _two_factor(row: Mapping[Any, Any]) -> TwoFactorRecord:
        return TwoFactorRecord(
            id=row["id"], user_id=row["userId"], secret=row["secret"], backup_codes=row["backupCodes"],
            verified=True if row["verified"] is None else bool(row["verified"]),
            failed_count=int(row["failedVerificationCount"] or 0), locked_until=row["lockedUntil"],
            last_totp_counter=row["lastTotpCounter"], otp_enabled=bool(row["otpEnabled"]),
        )

    async def get_two_factor(self, user_id: str) -> TwoFactorRecord | None:
        tf = self.t.two_factor
        async with self._read() as conn:
            row = (await conn.execute(sa.select(tf).where(tf.c.userId == user_id))).mappings().first()
        return self._two_factor(row) if row else None

    async def put_two_factor(self, record: TwoFactorRecord) -> None:
        """Replace the user's two-factor row (one per user)."""
        tf = self.t.two_factor
        async with self._write() as conn:
            await conn.execute(sa.delete(tf).where(tf.c.userId == record.user_id))
            await conn.execute(
                sa.insert(tf).values(
                    id=record.id, userId=record.user_id, secret=record.secret,
                    backupCodes=record.backup_codes, verified=record.verified,
                    failedVerificationCount=record.failed_count, lockedUntil=record.locked_until,
                    lastTotpCounter=record.last_totp_counter, otpEnabled=record.otp_enabled,
                )
            )

    async def update_two_factor(
        self, user_id: str, values: Mapping[str, Any], *, expected: Mapping[str, Any] | None = None
    ) -> bool:
        """Update the user's row, only while its columns hold ``expected`` (compare-and-swap);
        True if a row was updated."""
        tf = self.t.two_factor
        conds = [tf.c.userId == user_id] + [
            tf.c[name].is_(None) if value is None else tf.c[name] == value for name, value in (expected or {}).items()
        ]
        async with self._write() as conn:
            result = await conn.execute(sa.update(tf).where(*conds).values(dict(values)))
        return bool(result.rowcount)

    async def delete_two_factor(self, user_id: str) -> None:
        tf = self.t.two_factor
        async with self._write() as conn:
            await conn.execute(sa.delete(tf).where(tf.c.userId == user_id))

    async def swap_backup_codes(self, user_id: str, expected: str, new: str) -> bool:
        """Compare-and-swap: True for exactly one of several concurrent callers."""
        tf = self.t.two_factor
        async with self._write() as conn:
            result = await conn.execute(
                sa.update(tf).where(tf.c.userId == user_id, tf.c.backupCodes == expected).values(backupCodes=new)
            )
        return bool(result.rowcount)

    async def claim_totp_counter(self, user_id: str, counter: int) -> bool:
        """Record a TOTP step as used; False if it (or a later one) was used already."""
        tf = self.t.two_factor
        async with self._write() as conn:
            result = await conn.execute(
                sa.update(tf)
                .where(
                    tf.c.userId == user_id,
                    sa.or_(tf.c.lastTotpCounter.is_(None), tf.c.lastTotpCounter < counter),
                )
                .values(lastTotpCounter=counter)
            )
        return bool(result.rowcount)

    async def swap_verification_value(self, identifier: str, expected: str, new: str) -> bool:
        """Compare-and-swap on a verification row's value (attempt counters, OTPs)."""
        v = self.t.verification
        async with self._write() as conn:
            result = await conn.execute(
                sa.update(v).where(v.c.identifier == identifier, v.c.value == expected).values(value=new)
            )
        return bool(result.rowcount)

    # -- admin ----------------------------------------------------------------------------
    def _column(self, name: str) -> sa.ColumnElement[Any] | None:
        return self.t.user.c.get(name)

    async def delete_impersonations(self, impersonator_id: str) -> int:
        """End every impersonation session the user started."""
        s = self.t.session
        async with self._write() as conn:
            result = await conn.execute(sa.delete(s).where(s.c.impersonatedBy == impersonator_id))
        return int(result.rowcount or 0)

    async def search_users(self, q: UserQuery) -> tuple[list[User], int]:
        u = self.t.user
        conds: list[sa.ColumnElement[bool]] = []
        if q.search_value:
            col = self._column(q.search_field or "email")
            if col is not None:
                pattern = like_escape(q.search_value.lower())
                pattern = {"contains": f"%{pattern}%", "starts_with": f"{pattern}%", "ends_with": f"%{pattern}"}[q.search_operator]
                conds.append(sa.func.lower(col).like(pattern, escape="\\"))
        for name, op, value in q.filters:
            col = self._column(name)
            if col is None:
                continue
            conds.append(_condition(col, op, value))
        if q.has_role:
            # ",admin,moderator," contains ",admin,": the column read as the access module reads
            # it (spaces ignored; empty means the default role).
            stored: sa.ColumnElement[Any] = sa.func.replace(sa.func.coalesce(u.c.role, ""), " ", "")
            if q.default_role:
                stored = sa.case((stored == "", q.default_role), else_=stored)
            listed = sa.literal(",", sa.String) + stored + sa.literal(",", sa.String)
            conds.append(listed.like(f"%,{like_escape(q.has_role)},%", escape="\\"))
        base = sa.select(u).where(*conds)
        sort = self._column(q.sort_by or "createdAt")
        if sort is None:  # a Column has no truth value: no ``or`` here
            sort = u.c.createdAt
        order = sort.desc() if q.sort_direction == "desc" else sort.asc()
        stmt = base.order_by(order, u.c.id).limit(q.limit).offset(q.offset)
        count = sa.select(sa.func.count()).select_from(u).where(*conds)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
            total = int((await conn.execute(count)).scalar_one())
        return [self._user(r) for r in rows], total

    # -- audit ----------------------------------------------------------------------------
    async def add_audit(self, event: AuditEvent) -> None:
        async with self._write() as conn:
            await conn.execute(
                sa.insert(self.t.audit).values(
                    id=event.id or generate_id(), createdAt=event.created_at, event=event.event,
                    actorId=event.actor_id, userId=event.user_id, ipAddress=event.ip_address,
                    userAgent=event.user_agent, details=json.dumps(event.details, separators=(",", ":")),
                )
            )

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
            rows = (await conn.execute(stmt)).mappings().all()
            total = int((await conn.execute(count)).scalar_one())
        return [
            AuditEvent(
                id=r["id"], created_at=r["createdAt"], event=r["event"], actor_id=r["actorId"],
                user_id=r["userId"], ip_address=r["ipAddress"], user_agent=r["userAgent"],
                details=json.loads(r["details"] or "{}"),
            )
            for r in rows
        ], total

    async def prune_audit(self, before: datetime) -> int:
        a = self.t.audit
        async with self._write() as conn:
            result = await conn.execute(sa.delete(a).where(a.c.createdAt < before))
        return int(result.rowcount or 0)


def _condition(col: sa.ColumnElement[Any], op: Operator, value: Any) -> sa.ColumnElement[bool]:
    if op in ("in", "not_in"):
        values: Sequence[Any] = value if isinstance(value, list | tuple) else [value]
        return col.in_(values) if op == "in" else col.not_in(values)
    if op in ("contains", "starts_with", "ends_with"):
        p = like_escape(str(value))
        pattern = {"contains": f"%{p}%", "starts_with": f"{p}%", "ends_with": f"%{p}"}[op]
        return col.like(pattern, escape="\\")
    if value is None:
        return col.is_(None) if op == "eq" else col.is_not(None)
    if isinstance(value, bool) and op in ("eq", "ne"):
        # A boolean column left NULL (rows written before the column existed) reads as false.
        wants_true = value if op == "eq" else not value
        return col.is_(True) if wants_true else sa.or_(col.is_(False), col.is_(None))
    # Built lazily: SQLAlchemy refuses ``<`` against True/False, so only the asked one is made.
    compare = {
        "eq": operator.eq, "ne": operator.ne, "lt": operator.lt,
        "lte": operator.le, "gt": operator.gt, "gte": operator.ge,
    }[op]
    return compare(col, value)  # type: ignore[no-any-return]


