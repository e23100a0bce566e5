"""Add the tables and columns a database lacks; never drop or alter what is there."""

from __future__ import annotations

import sqlalchemy as sa


def sync_schema(conn: sa.Connection, metadata: sa.MetaData) -> list[str]:
    """Create missing tables (with their indexes) and add missing columns, as nullable.

    Returns a line per change, for the CLI to print.
    """
    inspector = sa.inspect(conn)
    existing = set(inspector.get_table_names())
    changes: list[str] = []
    for table in metadata.sorted_tables:
        if table.name not in existing:
            table.create(conn)
            changes.append(f"created table {table.name}")
            continue
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            col_type = column.type.compile(dialect=conn.dialect)
            default = ""
            if isinstance(column.type, sa.Boolean) and not column.nullable:
                default = " DEFAULT FALSE"
            ddl = (
                f"ALTER TABLE {conn.dialect.identifier_preparer.quote(table.name)} "
                f"ADD COLUMN {conn.dialect.identifier_preparer.quote(column.name)} {col_type}{default}"
            )
            conn.exec_driver_sql(ddl)
            changes.append(f"added column {table.name}.{column.name}")
    return changes
