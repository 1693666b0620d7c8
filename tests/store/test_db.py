"""The store: migrations apply once and are idempotent; SQLite runs in WAL mode."""

from sqlalchemy import text

from mailyard.runtime import Runtime
from mailyard.store.migrate import current_revision, migrate


async def test_migrations_reach_head_and_are_idempotent(runtime: Runtime) -> None:
    head = await current_revision(runtime.db)
    assert head is not None
    await migrate(runtime.db)
    assert await current_revision(runtime.db) == head


async def test_sqlite_store_runs_in_wal_mode(runtime: Runtime) -> None:
    if runtime.db.backend != "sqlite":
        assert runtime.db.backend == "postgresql"
        return
    async with runtime.db.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"


async def test_ping_reports_a_reachable_store(runtime: Runtime) -> None:
    assert await runtime.db.ping()
