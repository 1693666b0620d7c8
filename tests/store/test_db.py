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


async def test_a_connection_dropped_mid_query_does_not_keep_the_sqlite_write_lock(runtime: Runtime) -> None:
    """A task cancelled between a query and its fetch makes SQLAlchemy drop the connection; the next writer
    must not wait out busy_timeout behind the transaction that connection still held."""
    if runtime.db.backend != "sqlite":
        assert runtime.db.backend == "postgresql"
        return
    async with runtime.db.engine.connect() as conn:
        await conn.begin()  # BEGIN IMMEDIATE: this connection holds the write lock
        raw = await conn.get_raw_connection()
        running = await raw.driver_connection.execute("SELECT name FROM sqlite_master")  # rows left unread
        await conn.invalidate()
        async with runtime.db.transaction() as session:
            await session.execute(text("CREATE TABLE after_drop (x INTEGER)"))
        assert running is not None  # the unread statement lived through the other write
    assert await runtime.db.read_scalar(text("SELECT count(*) FROM after_drop")) == 0
