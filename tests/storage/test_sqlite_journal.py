"""SQLite's switch to write-ahead logging, with other connections on the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from authkeeper.core.settings import DatabaseSettings
from authkeeper.storage.sql import make_engine, use_wal

pytestmark = pytest.mark.anyio


async def test_a_connection_opens_while_another_writes_and_the_file_turns_wal_later(tmp_path: Path) -> None:
    path = tmp_path / "auth.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("CREATE TABLE t (x INTEGER)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (1)")
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{path}", busy_timeout_ms=100))
    try:
        # The writer holds the file: the switch cannot happen now, yet the connection works.
        async with engine.connect() as conn:
            assert (await conn.execute(sa.text("SELECT count(*) FROM t"))).scalar() == 0
        writer.execute("COMMIT")
        assert await use_wal(engine)
        with sqlite3.connect(path) as reader:
            assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        writer.close()
        await engine.dispose()
