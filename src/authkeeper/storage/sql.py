"""SQLAlchemy 2 async store for SQLite (aiosqlite) and PostgreSQL (asyncpg).

SQLite runs in WAL mode with a busy timeout; write transactions start with
``BEGIN IMMEDIATE`` so two writers never deadlock upgrading a read lock, and a lock that
outlasts the timeout becomes a 503, never a 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ..core import errors
from ..core.models import Account, Session, User, Verification
from ..core.ports import DuplicateError
from ..core.settings import AdditionalField, DatabaseSettings
from .sql_plugins import PluginStoreMixin
from .tables import Tables, build_tables

_USER_CORE = {"id", "name", "email", "emailVerified", "image", "createdAt", "updatedAt"}
# Columns the user JSON shows as booleans even when a Better Auth database left them NULL.
_USER_FLAGS = ("banned", "twoFactorEnabled")
_SESSION_CORE = {"id", "token", "userId", "expiresAt", "createdAt", "updatedAt", "ipAddress", "userAgent"}


class StorageURLError(ValueError):
    """The database URL cannot be used."""


def async_url(url: str) -> str:
    """Map a plain database URL to its async driver."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageURLError(f"invalid database URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    else:
        raise StorageURLError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")
    return parsed.render_as_string(hide_password=False)


def make_engine(settings: DatabaseSettings) -> AsyncEngine:
    url = async_url(settings.url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, pool_size=5, max_overflow=5)
        timeout = settings.busy_timeout_ms

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            # The timeout first: switching a new file to WAL takes a lock that several processes
            # starting at once (workers migrating) must wait for, not fail on.
            cur.execute(f"PRAGMA busy_timeout={int(timeout)}")
            cur.execute("PRAGMA journal_mode")
            if str(cur.fetchone()[0]).lower() != "wal":
                # The switch needs the file to itself, and SQLite answers "locked" at once
                # (without waiting) when another connection is writing. WAL is a property of
                # the file: this connection goes on in the current mode, and the migration
                # (or the next connection) makes the switch.
                try:
                    cur.execute("PRAGMA journal_mode=WAL")
                except Exception as exc:  # the driver's OperationalError, wrapped or not
                    if not _is_busy(exc):
                        raise
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            immediate = conn.get_execution_options().get("authkeeper_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # Sessions in UTC: a Better Auth schema made for Prisma or Drizzle has ``timestamp``
    # columns (no time zone) holding UTC, and PostgreSQL converts to and from them, and
    # compares them with timestamptz values, in the session's TimeZone.
    return create_async_engine(
        url, pool_size=settings.pool_size, max_overflow=settings.pool_size,
        connect_args={"server_settings": {"timezone": "UTC"}},
    )


def _is_busy(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _is_locked(exc: OperationalError) -> bool:
    return _is_busy(exc.orig) if exc.orig is not None else False


async def use_wal(engine: AsyncEngine, *, attempts: int = 50) -> bool:
    """Switch a SQLite file to write-ahead logging, retrying while another connection holds it
    (SQLite refuses the switch at once rather than waiting). The mode stays with the file.
    False when the file stayed in its journal mode (it works so, with less concurrency)."""
    for attempt in range(attempts):
        try:
            async with engine.connect() as conn:
                raw = await conn.get_raw_connection()
                driver: Any = raw.driver_connection  # aiosqlite's: outside any transaction
                async with driver.execute("PRAGMA journal_mode=WAL") as cursor:
                    row = await cursor.fetchone()
                if row and str(row[0]).lower() == "wal":
                    return True
        except Exception as exc:  # the driver's error, not SQLAlchemy's
            if not _is_busy(exc):
                raise
        await asyncio.sleep(min(0.01 * 2**attempt, 0.2))
    return False


class SqlStore(PluginStoreMixin):
    """The :class:`~authkeeper.core.ports.Store` on SQLAlchemy Core."""

    def __init__(
        self,
        engine: AsyncEngine,
        tables: Tables,
        additional_fields: tuple[AdditionalField, ...] = (),
        conn: AsyncConnection | None = None,
    ) -> None:
        self.engine = engine
        self.t = tables
        self._fields = additional_fields
        self._conn = conn
        self.dialect = engine.dialect.name
        u, s = tables.user, tables.session
        self._user_cols = list(u.c)
        self._session_cols = list(s.c)
        self._pg_pool: Any = None
        self._pg_lock = asyncio.Lock()
        self._find_session_sql = self._compile_find_session() if self.dialect == "postgresql" else ""
        self._find_session_stmt = (
            sa.select(*[c.label(f"s_{c.name}") for c in s.c], *[c.label(f"u_{c.name}") for c in u.c])
            .select_from(s.join(u, s.c.userId == u.c.id))
            .where(s.c.token == sa.bindparam("token"))
        )

    # -- plumbing -------------------------------------------------------------------------
    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        if self._conn is not None:
            yield self._conn
            return
        try:
            async with self.engine.connect() as conn:
                if self.dialect == "postgresql":
                    # One statement needs no transaction: skip the BEGIN/ROLLBACK round trips.
                    await conn.execution_options(isolation_level="AUTOCOMMIT")
                yield conn
        except OperationalError as exc:
            if _is_locked(exc):
                raise errors.AuthError(errors.SERVICE_UNAVAILABLE, headers={"Retry-After": "1"}) from None
            raise

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        if self._conn is not None:
            yield self._conn
            return
        try:
            async with self.engine.connect() as conn:
                await conn.execution_options(authkeeper_write=True)
                async with conn.begin():
                    yield conn
        except OperationalError as exc:
            if _is_locked(exc):
                raise errors.AuthError(errors.SERVICE_UNAVAILABLE, headers={"Retry-After": "1"}) from None
            raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlStore]:
        async with self._write() as conn:
            yield SqlStore(self.engine, self.t, self._fields, conn)

    async def lock(self, key: str) -> None:
        if self._conn is None:
            raise RuntimeError("lock() needs a transaction")
        if self.dialect == "postgresql":
            await self._conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})

    async def ping(self) -> None:
        async with self._read() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def close(self) -> None:
        if self._pg_pool is not None:
            await self._pg_pool.close()
            self._pg_pool = None
        await self.engine.dispose()

    def _insert(self, table: sa.Table) -> Any:
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)

    # -- row mapping ----------------------------------------------------------------------
    @staticmethod
    def _user(row: Mapping[Any, Any], prefix: str = "") -> User:
        def get(k: str) -> Any:
            return row[prefix + k]

        extra = {
            k[len(prefix):]: v
            for k, v in row.items()
            if k.startswith(prefix) and k[len(prefix):] not in _USER_CORE
        }
        for flag in _USER_FLAGS:
            if flag in extra and extra[flag] is None:
                extra[flag] = False
        return User(
            id=get("id"),
            name=get("name"),
            email=get("email"),
            email_verified=bool(get("emailVerified")),
            image=get("image"),
            created_at=get("createdAt"),
            updated_at=get("updatedAt"),
            extra=extra,
        )

    @staticmethod
    def _session(row: Mapping[Any, Any], prefix: str = "") -> Session:
        def get(k: str) -> Any:
            return row[prefix + k]

        extra = {
            k[len(prefix):]: v
            for k, v in row.items()
            if k.startswith(prefix) and k[len(prefix):] not in _SESSION_CORE
        }
        return Session(
            id=get("id"),
            token=get("token"),
            user_id=get("userId"),
            expires_at=get("expiresAt"),
            created_at=get("createdAt"),
            updated_at=get("updatedAt"),
            ip_address=get("ipAddress"),
            user_agent=get("userAgent"),
            extra=extra,
        )

    @staticmethod
    def _account(row: Mapping[Any, Any]) -> Account:
        return Account(
            id=row["id"],
            account_id=row["accountId"],
            provider_id=row["providerId"],
            user_id=row["userId"],
            created_at=row["createdAt"],
            updated_at=row["updatedAt"],
            password=row["password"],
            scope=row["scope"],
        )

    @staticmethod
    def _user_values(user: User) -> dict[str, Any]:
        return {
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "emailVerified": user.email_verified,
            "image": user.image,
            "createdAt": user.created_at,
            "updatedAt": user.updated_at,
            **user.extra,
        }

    @staticmethod
    def _account_values(a: Account) -> dict[str, Any]:
        return {
            "id": a.id,
            "accountId": a.account_id,
            "providerId": a.provider_id,
            "userId": a.user_id,
            "password": a.password,
            "scope": a.scope,
            "createdAt": a.created_at,
            "updatedAt": a.updated_at,
        }

    # -- users ----------------------------------------------------------------------------
    async def create_user(self, user: User, account: Account | None = None) -> None:
        try:
            async with self._write() as conn:
                await conn.execute(sa.insert(self.t.user).values(self._user_values(user)))
                if account is not None:
                    await conn.execute(sa.insert(self.t.account).values(self._account_values(account)))
        except IntegrityError:
            raise DuplicateError("user") from None

    async def find_user_by_id(self, user_id: str) -> User | None:
        async with self._read() as conn:
            row = (await conn.execute(sa.select(self.t.user).where(self.t.user.c.id == user_id))).mappings().first()
        return self._user(row) if row else None

    async def find_user_by_email(self, email: str) -> User | None:
        async with self._read() as conn:
            row = (
                await conn.execute(sa.select(self.t.user).where(self.t.user.c.email == email))
            ).mappings().first()
        return self._user(row) if row else None

    async def update_user(
        self, user_id: str, values: Mapping[str, Any], *, expected: Mapping[str, Any] | None = None
    ) -> User | None:
        u = self.t.user
        conds = [u.c.id == user_id] + [
            u.c[name].is_(None) if value is None else u.c[name] == value for name, value in (expected or {}).items()
        ]
        try:
            async with self._write() as conn:
                result = await conn.execute(
                    sa.update(u)
                    .where(*conds)
                    .values(dict(values))
                    .returning(*self.t.user.c)
                )
                row = result.mappings().first()
        except IntegrityError:
            raise DuplicateError("user") from None
        return self._user(row) if row else None

    async def delete_user(self, user_id: str) -> bool:
        async with self._write() as conn:
            # Explicit deletes: a Better Auth database on SQLite may lack the cascades.
            await conn.execute(sa.delete(self.t.session).where(self.t.session.c.userId == user_id))
            await conn.execute(sa.delete(self.t.account).where(self.t.account.c.userId == user_id))
            await conn.execute(sa.delete(self.t.two_factor).where(self.t.two_factor.c.userId == user_id))
            result = await conn.execute(sa.delete(self.t.user).where(self.t.user.c.id == user_id))
        return bool(result.rowcount)

    async def list_users(self, *, limit: int = 100, offset: int = 0) -> list[User]:
        stmt = sa.select(self.t.user).order_by(self.t.user.c.createdAt).limit(limit).offset(offset)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [self._user(r) for r in rows]

    async def count_users(self) -> int:
        async with self._read() as conn:
            return int((await conn.execute(sa.select(sa.func.count()).select_from(self.t.user))).scalar_one())

    # -- accounts -------------------------------------------------------------------------
    async def create_account(self, account: Account) -> None:
        async with self._write() as conn:
            await conn.execute(sa.insert(self.t.account).values(self._account_values(account)))

    async def list_accounts(self, user_id: str) -> list[Account]:
        stmt = sa.select(self.t.account).where(self.t.account.c.userId == user_id).order_by(self.t.account.c.createdAt)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [self._account(r) for r in rows]

    async def find_account(self, user_id: str, provider_id: str) -> Account | None:
        a = self.t.account
        stmt = sa.select(a).where(a.c.userId == user_id, a.c.providerId == provider_id)
        async with self._read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return self._account(row) if row else None

    async def update_account_password(self, account_id: str, password_hash: str) -> None:
        from ..core.models import utcnow

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

    # -- sessions -------------------------------------------------------------------------
    async def create_session(self, session: Session) -> None:
        values = {
            "id": session.id,
            "token": session.token,
            "userId": session.user_id,
            "expiresAt": session.expires_at,
            "createdAt": session.created_at,
            "updatedAt": session.updated_at,
            "ipAddress": session.ip_address,
            "userAgent": session.user_agent,
            **session.extra,
        }
        async with self._write() as conn:
            await conn.execute(sa.insert(self.t.session).values(values))

    def _compile_find_session(self) -> str:
        q = self.engine.dialect.identifier_preparer.quote
        cols = [f"s.{q(c.name)} AS {q('s_' + c.name)}" for c in self.t.session.c]
        cols += [f"u.{q(c.name)} AS {q('u_' + c.name)}" for c in self.t.user.c]
        return (
            f"SELECT {', '.join(cols)} FROM {q('session')} s JOIN {q('user')} u "
            f"ON s.{q('userId')} = u.{q('id')} WHERE s.{q('token')} = $1"
        )

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
                        url.render_as_string(hide_password=False), min_size=1,
                        max_size=self.engine.pool.size(),  # type: ignore[attr-defined]
                        reset=no_reset, server_settings={"timezone": "UTC"},
                    )
        row = await self._pg_pool.fetchrow(self._find_session_sql, token)
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
                row = (await conn.execute(self._find_session_stmt, {"token": token})).mappings().first()
        if row is None:
            return None
        return self._session(row, "s_"), self._user(row, "u_")

    async def list_sessions(self, user_id: str, now: datetime) -> list[Session]:
        s = self.t.session
        stmt = sa.select(s).where(s.c.userId == user_id, s.c.expiresAt > now).order_by(s.c.createdAt)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [self._session(r) for r in rows]

    async def update_session(self, token: str, values: Mapping[str, Any]) -> None:
        async with self._write() as conn:
            await conn.execute(sa.update(self.t.session).where(self.t.session.c.token == token).values(dict(values)))

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

    # -- verification ---------------------------------------------------------------------
    async def create_verification(self, identifier: str, value: str, expires_at: datetime) -> None:
        from ..core.crypto.random import generate_id
        from ..core.models import utcnow

        now = utcnow()
        async with self._write() as conn:
            await conn.execute(
                sa.insert(self.t.verification).values(
                    id=generate_id(), identifier=identifier, value=value, expiresAt=expires_at,
                    createdAt=now, updatedAt=now,
                )
            )

    @staticmethod
    def _verification(row: Mapping[Any, Any]) -> Verification:
        return Verification(
            id=row["id"], identifier=row["identifier"], value=row["value"],
            expires_at=row["expiresAt"], created_at=row["createdAt"], updated_at=row["updatedAt"],
        )

    async def find_verification(self, identifier: str, now: datetime) -> Verification | None:
        v = self.t.verification
        stmt = sa.select(v).where(v.c.identifier == identifier, v.c.expiresAt > now).order_by(v.c.createdAt.desc())
        async with self._read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return self._verification(row) if row else None

    async def consume_verification(self, identifier: str, now: datetime) -> Verification | None:
        v = self.t.verification
        # DELETE ... RETURNING is atomic: of two concurrent consumers only one sees the row.
        async with self._write() as conn:
            rows = (
                await conn.execute(sa.delete(v).where(v.c.identifier == identifier).returning(*v.c))
            ).mappings().all()
        live = [self._verification(r) for r in rows if r["expiresAt"] > now]
        return max(live, key=lambda r: r.created_at) if live else None

    async def delete_verifications(self, *, prefix: str, value: str | None = None) -> int:
        v = self.t.verification
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        cond: list[sa.ColumnElement[bool]] = [v.c.identifier.like(escaped + "%", escape="\\")]
        if value is not None:
            cond.append(v.c.value == value)
        async with self._write() as conn:
            result = await conn.execute(sa.delete(v).where(*cond))
        return int(result.rowcount or 0)

    # -- lockout --------------------------------------------------------------------------
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


def create_store(settings: DatabaseSettings, additional_fields: tuple[AdditionalField, ...] = ()) -> SqlStore:
    """A store for ``settings.url``; raises :class:`StorageURLError` for an unusable URL."""
    return SqlStore(make_engine(settings), build_tables(additional_fields), additional_fields)
