"""Storage behind a narrow interface: SQLAlchemy for SQLite and PostgreSQL."""

from ..core.ports import DuplicateError, Store
from .sql import SqlStore, StorageURLError, create_store

__all__ = ["DuplicateError", "SqlStore", "StorageURLError", "Store", "create_store"]
