"""Storage behind narrow ports (``core.ports``): SQLAlchemy for SQLite and PostgreSQL, and an
in-memory store for tests."""

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ..core.ports import DuplicateError, Store
from ..core.settings import Settings
from .memory import MemoryStore
from .schema import PluginSchema
from .sql import SqlStore, StorageURLError, create_store
from .tables import Tables, build_tables


@runtime_checkable
class SchemaBound(Protocol):
    """A store that takes the merged schema of the installed plugins (both backends do)."""

    def use_tables(self, tables: Tables) -> None: ...


def open_store(settings: Settings, schemas: Sequence[PluginSchema], store: Store | None = None) -> Store:
    """The app's store over the core's tables merged with the installed plugins' ``schemas``:
    ``store`` (given the merged schema) or, by default, one for ``settings.database``."""
    if store is None:
        return create_store(settings.database, settings.user.additional_fields, schemas)
    if isinstance(store, SchemaBound):
        store.use_tables(build_tables(settings.user.additional_fields, schemas))
    return store


__all__ = [
    "DuplicateError",
    "MemoryStore",
    "SchemaBound",
    "SqlStore",
    "StorageURLError",
    "Store",
    "create_store",
    "open_store",
]
