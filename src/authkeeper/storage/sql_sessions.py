"""The sessions, verifications and counters ports on SQL, and the clean-up of what expired."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..core.changes import SessionUpdate
from ..core.crypto.random import generate_id
from ..core.models import Session, User, Verification, utcnow
from ..core.ports import DuplicateError
from . import rows
from .rows import check_fields, like_escape
from .sql_base import SqlBase, where_clause


class SqlSessions(SqlBase):
    def _prepare_sessions(self) -> dict[str, Any]:
        s, u = self.t.session, self.t.user
        stmt = (
            sa.select(*[c.label(f"s_{c.name}") for c in s.c], *[c.label(f"u_{c.name}") for c in u.c])
            .select_from(s.join(u, s.c.userId == u.c.id))
            .where(s.c.token == sa.bindparam("token"))
        )
        sql = ""
        if self.dialect == "postgresql":
            q = self.engine.dialect.identifier_preparer.quote
            cols = [f"s.{q(c.name)} AS {q('s_' + c.name)}" for c in s.c]
            cols += [f"u.{q(c.name)} AS {q('u_' + c.name)}" for c in u.c]
            sql = (
                f"SELECT {', '.join(cols)} FROM {q('session')} s JOIN {q('user')} u "
                f"ON s.{q('userId')} = u.{q('id')} WHERE s.{q('token')} = $1"
            )
        return {"find_session": stmt, "find_session_sql": sql}

    # -- sessions -------------------------------------------------------------------------
    async def create_session(self, session: Session) -> None:
        check_fields(self.t.session, session.extra)
        try:
            async with self._write() as conn:
                await conn.execute(sa.insert(self.t.session).values(rows.session_values(session)))
        except IntegrityError:
            raise DuplicateError("session") from None

    async def _pg_fetch_session(self, token: str) -> Mapping[Any, Any] | None:
        """The hottest query (every get-session), on a plain asyncpg pool: SQLAlchemy's
        per-use BEGIN/ROLLBACK and greenlet hops would triple its cost."""
        if self._pg_pool is None:
            async with self._pg_lock:
                if self._pg_pool is None:
                    import asyncpg  # type: ignore[import-untyped]

                    url = self.engine.url.set(drivername="postgresql")

                    async def no_reset(_conn: Any) -> None:
                        # Only this one SELECT ever runs here: no session state to reset,
                        # so skip asyncpg's reset round trip on every release.
                        return None

                    self._pg_pool = await asyncpg.create_pool(
                        url.render_as_string(hide_password=False),
                        min_size=1,
                        max_size=self.engine.pool.size(),  # type: ignore[attr-defined]
                        reset=no_reset,
                        server_settings={"timezone": "UTC"},
                    )
        row = await self._pg_pool.fetchrow(self._prepared["find_session_sql"], token)
        if row is None:
            return None
        data = dict(row)
        for key, value in data.items():
            if isinstance(value, datetime) and value.tzinfo is None:
                data[key] = value.replace(tzinfo=UTC)
        return data

    async def find_session(self, token: str) -> tuple[Session, User] | None:
        if self._conn is None and self.dialect == "postgresql":
            row = await self._pg_fetch_session(token)
        else:
            async with self._read() as conn:
                row = (await conn.execute(self._prepared["find_session"], {"token": token})).mappings().first()
        if row is None:
            return None
        return rows.session(row, "s_"), rows.user(row, self.t.user_flags, "u_")

    async def list_sessions(self, user_id: str, now: datetime) -> list[Session]:
        s = self.t.session
        stmt = sa.select(s).where(s.c.userId == user_id, s.c.expiresAt > now).order_by(s.c.createdAt)
        async with self._read() as conn:
            found = (await conn.execute(stmt)).mappings().all()
        return [rows.session(r) for r in found]

    async def update_session(self, token: str, change: SessionUpdate) -> None:
        values = change.columns()
        check_fields(self.t.session, values)
        async with self._write() as conn:
            await conn.execute(sa.update(self.t.session).where(self.t.session.c.token == token).values(values))

    async def delete_session(self, token: str, user_id: str | None = None) -> bool:
        s = self.t.session
        cond = [s.c.token == token] + ([s.c.userId == user_id] if user_id else [])
        async with self._write() as conn:
            result = await conn.execute(sa.delete(s).where(*cond))
        return bool(result.rowcount)

    async def delete_session_by_id(self, session_id: str, user_id: str) -> bool:
        s = self.t.session
        async with self._write() as conn:
            result = await conn.execute(sa.delete(s).where(s.c.id == session_id, s.c.userId == user_id))
        return bool(result.rowcount)

    async def delete_user_sessions(self, user_id: str, keep_token: str | None = None) -> int:
        s = self.t.session
        cond = [s.c.userId == user_id] + ([s.c.token != keep_token] if keep_token else [])
        async with self._write() as conn:
            result = await conn.execute(sa.delete(s).where(*cond))
        return int(result.rowcount or 0)

    async def delete_sessions_matching(self, fields: Mapping[str, Any]) -> int:
        conds = where_clause(self.t.session, fields)
        if not conds:
            raise ValueError("delete_sessions_matching needs at least one field")
        async with self._write() as conn:
            result = await conn.execute(sa.delete(self.t.session).where(*conds))
        return int(result.rowcount or 0)

    # -- verification ---------------------------------------------------------------------
    async def create_verification(self, identifier: str, value: str, expires_at: datetime) -> None:
        now = utcnow()
        async with self._write() as conn:
            await conn.execute(
                sa.insert(self.t.verification).values(
                    id=generate_id(),
                    identifier=identifier,
                    value=value,
                    expiresAt=expires_at,
                    createdAt=now,
                    updatedAt=now,
                )
            )

    async def find_verification(self, identifier: str, now: datetime) -> Verification | None:
        v = self.t.verification
        stmt = sa.select(v).where(v.c.identifier == identifier, v.c.expiresAt > now).order_by(v.c.createdAt.desc())
        async with self._read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return rows.verification(row) if row else None

    async def consume_verification(self, identifier: str, now: datetime) -> Verification | None:
        v = self.t.verification
        # DELETE ... RETURNING is atomic: of two concurrent consumers only one sees the row.
        async with self._write() as conn:
            found = (
                (await conn.execute(sa.delete(v).where(v.c.identifier == identifier).returning(*v.c))).mappings().all()
            )
        live = [rows.verification(r) for r in found if r["expiresAt"] > now]
        return max(live, key=lambda r: r.created_at) if live else None

    async def delete_verifications(self, *, prefix: str, value: str | None = None) -> int:
        v = self.t.verification
        cond: list[sa.ColumnElement[bool]] = [v.c.identifier.like(like_escape(prefix) + "%", escape="\\")]
        if value is not None:
            cond.append(v.c.value == value)
        async with self._write() as conn:
            result = await conn.execute(sa.delete(v).where(*cond))
        return int(result.rowcount or 0)

    async def swap_verification_value(self, identifier: str, expected: str, new: str) -> bool:
        v = self.t.verification
        async with self._write() as conn:
            result = await conn.execute(
                sa.update(v).where(v.c.identifier == identifier, v.c.value == expected).values(value=new)
            )
        return bool(result.rowcount)

    # -- lockout counters -----------------------------------------------------------------
    async def record_failure(self, key: str, now: datetime, window: int) -> tuple[int, datetime]:
        lo = self.t.lockout
        stale = now - timedelta(seconds=window)
        ins = self._insert(lo).values(key=key, count=1, windowStart=now)
        stmt = ins.on_conflict_do_update(
            index_elements=[lo.c.key],
            set_={
                "count": sa.case((lo.c.windowStart <= stale, 1), else_=lo.c.count + 1),
                "windowStart": sa.case((lo.c.windowStart <= stale, now), else_=lo.c.windowStart),
            },
        ).returning(lo.c.count, lo.c.windowStart)
        async with self._write() as conn:
            row = (await conn.execute(stmt)).one()
        return int(row[0]), row[1]

    async def get_failures(self, key: str) -> tuple[int, datetime] | None:
        lo = self.t.lockout
        async with self._read() as conn:
            row = (await conn.execute(sa.select(lo.c.count, lo.c.windowStart).where(lo.c.key == key))).first()
        return (int(row[0]), row[1]) if row else None

    async def clear_failures(self, key: str) -> None:
        async with self._write() as conn:
            await conn.execute(sa.delete(self.t.lockout).where(self.t.lockout.c.key == key))

    async def cleanup(self, now: datetime) -> dict[str, int]:
        s, v = self.t.session, self.t.verification
        async with self._write() as conn:
            sessions = await conn.execute(sa.delete(s).where(s.c.expiresAt <= now))
            verifications = await conn.execute(sa.delete(v).where(v.c.expiresAt <= now))
            lockouts = await conn.execute(
                sa.delete(self.t.lockout).where(self.t.lockout.c.windowStart <= now - timedelta(days=1))
            )
        return {
            "sessions": int(sessions.rowcount or 0),
            "verifications": int(verifications.rowcount or 0),
            "lockouts": int(lockouts.rowcount or 0),
        }
