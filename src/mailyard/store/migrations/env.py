"""Alembic environment: runs on the connection `mailyard.store.migrate` hands in (sync facade of async)."""

from __future__ import annotations

from alembic import context

from mailyard.store.base import Base
from mailyard.store.registry import load_models

load_models()

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
