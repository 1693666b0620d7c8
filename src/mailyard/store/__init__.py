"""The store: SQLAlchemy models, database sessions and Alembic migrations (SQLite or PostgreSQL)."""
