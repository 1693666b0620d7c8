"""Alembic migration scripts of the store."""
