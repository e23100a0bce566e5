"""The conformance suite's store: every test of ``test_*_port.py`` runs on SQLite, PostgreSQL
and memory, over the core's schema merged with the default plugins' (admin, two-factor)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from authkeeper import migrate
from authkeeper.auth import default_plugins, schemas_of
from authkeeper.core.crypto.random import generate_id
from authkeeper.core.models import Account, Session, User, utcnow
from authkeeper.core.ports import Store
from authkeeper.core.settings import Settings
from authkeeper.storage import MemoryStore, create_store
from tests.conftest import create_pg_database, drop_pg_database, fast_settings

SCHEMAS = schemas_of(default_plugins(Settings()))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "memory"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The database URL of the backend (``memory`` for the in-memory store)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'auth.db'}"
    elif request.param == "memory":
        yield "memory"
    else:
        url = create_pg_database()
        yield url
        drop_pg_database(url)


@pytest.fixture
async def store(backend: str) -> AsyncIterator[Store]:
    if backend == "memory":
        yield MemoryStore((), SCHEMAS)
        return
    settings = fast_settings(backend)
    await migrate(settings)
    await migrate(settings)  # idempotent
    s = create_store(settings.database, (), SCHEMAS)
    yield s
    await s.close()


def make_user(email: str = "a@example.com", **extra: object) -> User:
    now = utcnow()
    return User(
        id=generate_id(),
        name="A",
        email=email,
        email_verified=False,
        image=None,
        created_at=now,
        updated_at=now,
        extra={"role": "user", "banned": False, **extra},
    )


def make_session(user: User, *, expires_in: int = 3600, **extra: object) -> Session:
    now = utcnow()
    return Session(
        id=generate_id(),
        token=generate_id(),
        user_id=user.id,
        expires_at=now + timedelta(seconds=expires_in),
        created_at=now,
        updated_at=now,
        ip_address="127.0.0.1",
        user_agent="test",
        extra=dict(extra),
    )


def credential(user: User, password: str = "hash") -> Account:
    now = utcnow()
    return Account(
        id=generate_id(),
        account_id=user.id,
        provider_id="credential",
        user_id=user.id,
        created_at=now,
        updated_at=now,
        password=password,
    )
