"""The users and accounts ports on SQL, with the admin list's search."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..core.changes import UserUpdate
from ..core.models import Account, User, utcnow
from ..core.ports import DuplicateError
from ..core.queries import Operator, UserQuery
from . import rows
from .rows import check_fields, like_escape
from .sql_base import SqlBase, where_clause


class SqlUsers(SqlBase):
    def _user(self, row: Any, prefix: str = "") -> User:
        return rows.user(row, self.t.user_flags, prefix)

    # -- users ----------------------------------------------------------------------------
    async def create_user(self, user: User, account: Account | None = None) -> None:
        check_fields(self.t.user, user.extra)
        try:
            async with self._write() as conn:
                await conn.execute(sa.insert(self.t.user).values(rows.user_values(user)))
                if account is not None:
                    await conn.execute(sa.insert(self.t.account).values(rows.account_values(account)))
        except IntegrityError:
            raise DuplicateError("user") from None

    async def find_user_by_id(self, user_id: str) -> User | None:
        async with self._read() as conn:
            row = (await conn.execute(sa.select(self.t.user).where(self.t.user.c.id == user_id))).mappings().first()
        return self._user(row) if row else None

    async def find_user_by_email(self, email: str) -> User | None:
        async with self._read() as conn:
            row = (await conn.execute(sa.select(self.t.user).where(self.t.user.c.email == email))).mappings().first()
        return self._user(row) if row else None

    async def update_user(self, user_id: str, change: UserUpdate, *, expected: UserUpdate | None = None) -> User | None:
        u = self.t.user
        values = change.columns()
        check_fields(u, values)
        conds = [u.c.id == user_id, *where_clause(u, expected.columns() if expected else None)]
        try:
            async with self._write() as conn:
                result = await conn.execute(sa.update(u).where(*conds).values(values).returning(*u.c))
                row = result.mappings().first()
        except IntegrityError:
            raise DuplicateError("user") from None
        return self._user(row) if row else None

    async def delete_user(self, user_id: str) -> bool:
        async with self._write() as conn:
            # Explicit deletes: a Better Auth database on SQLite may lack the cascades.
            for table, column in self.t.user_children():
                await conn.execute(sa.delete(table).where(column == user_id))
            result = await conn.execute(sa.delete(self.t.user).where(self.t.user.c.id == user_id))
        return bool(result.rowcount)

    async def list_users(self, *, limit: int = 100, offset: int = 0) -> list[User]:
        stmt = sa.select(self.t.user).order_by(self.t.user.c.createdAt).limit(limit).offset(offset)
        async with self._read() as conn:
            found = (await conn.execute(stmt)).mappings().all()
        return [self._user(r) for r in found]

    async def count_users(self) -> int:
        async with self._read() as conn:
            return int((await conn.execute(sa.select(sa.func.count()).select_from(self.t.user))).scalar_one())

    async def search_users(self, q: UserQuery) -> tuple[list[User], int]:
        u = self.t.user
        conds: list[sa.ColumnElement[bool]] = []
        if q.search_value:
            col = u.c.get(q.search_field or "email")
            if col is not None:
                pattern = like_escape(q.search_value.lower())
                pattern = {"contains": f"%{pattern}%", "starts_with": f"{pattern}%", "ends_with": f"%{pattern}"}[
                    q.search_operator
                ]
                conds.append(sa.func.lower(col).like(pattern, escape="\\"))
        for name, op, value in q.filters:
            col = u.c.get(name)
            if col is not None:
                conds.append(_condition(col, op, value))
        listed_col = u.c.get(q.listed.field) if q.listed else None
        if q.listed and listed_col is not None:
            # ",admin,moderator," contains ",admin,": spaces ignored, empty is the default.
            stored: sa.ColumnElement[Any] = sa.func.replace(sa.func.coalesce(listed_col, ""), " ", "")
            if q.listed.default:
                stored = sa.case((stored == "", q.listed.default), else_=stored)
            listed = sa.literal(",", sa.String) + stored + sa.literal(",", sa.String)
            conds.append(listed.like(f"%,{like_escape(q.listed.item)},%", escape="\\"))
        sort = u.c.get(q.sort_by or "createdAt")
        if sort is None:  # a Column has no truth value: no ``or`` here
            sort = u.c.createdAt
        order = sort.desc() if q.sort_direction == "desc" else sort.asc()
        stmt = sa.select(u).where(*conds).order_by(order, u.c.id).limit(q.limit).offset(q.offset)
        count = sa.select(sa.func.count()).select_from(u).where(*conds)
        async with self._read() as conn:
            found = (await conn.execute(stmt)).mappings().all()
            total = int((await conn.execute(count)).scalar_one())
        return [self._user(r) for r in found], total

    # -- accounts -------------------------------------------------------------------------
    async def create_account(self, account: Account) -> None:
        try:
            async with self._write() as conn:
                await conn.execute(sa.insert(self.t.account).values(rows.account_values(account)))
        except IntegrityError:
            raise DuplicateError("account") from None

    async def list_accounts(self, user_id: str) -> list[Account]:
        stmt = sa.select(self.t.account).where(self.t.account.c.userId == user_id).order_by(self.t.account.c.createdAt)
        async with self._read() as conn:
            found = (await conn.execute(stmt)).mappings().all()
        return [rows.account(r) for r in found]

    async def find_account(self, user_id: str, provider_id: str) -> Account | None:
        a = self.t.account
        stmt = sa.select(a).where(a.c.userId == user_id, a.c.providerId == provider_id)
        async with self._read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return rows.account(row) if row else None

    async def update_account_password(self, account_id: str, password_hash: str) -> None:
        async with self._write() as conn:
            await conn.execute(
                sa.update(self.t.account)
                .where(self.t.account.c.id == account_id)
                .values(password=password_hash, updatedAt=utcnow())
            )

    async def delete_account(self, user_id: str, account_row_id: str) -> bool:
        a = self.t.account
        async with self._write() as conn:
            result = await conn.execute(sa.delete(a).where(a.c.id == account_row_id, a.c.userId == user_id))
        return bool(result.rowcount)


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
        "eq": operator.eq,
        "ne": operator.ne,
        "lt": operator.lt,
        "lte": operator.le,
        "gt": operator.gt,
        "gte": operator.ge,
    }[op]
    return compare(col, value)  # type: ignore[no-any-return]
