"""Alembic environment: always called with a connection from `store.migrate`."""

from __future__ import annotations

from alembic import context

from sandbox_analyst.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through sandbox_analyst.store.migrate.upgrade_to_head")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
