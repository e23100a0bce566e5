"""Alembic environment: authkeeper passes an open connection in ``config.attributes``."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, version_table="authkeeper_version")
with context.begin_transaction():
    context.run_migrations()
