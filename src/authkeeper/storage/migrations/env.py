"""Alembic environment: authkeeper passes an open connection in ``config.attributes``."""

from alembic import context

connection = context.config.attributes["connection"]


def _applied(ctx, step, heads, run_args):  # type: ignore[no-untyped-def]
    """Note each revision applied (``migrate`` names those that run code of their own)."""
    context.config.attributes.setdefault("applied", []).append(step.up_revision_id)


context.configure(
    connection=connection, target_metadata=None, version_table="authkeeper_version", on_version_apply=_applied
)
with context.begin_transaction():
    context.run_migrations()
