"""The Database handle: one async engine and session factory, the same code path for both backends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Executable, Row, create_engine, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

from mailyard.store.urls import Backend, async_url, backend_of, sqlite_path

log = logging.getLogger(__name__)


def _sqlite_begin_immediate(conn: Any) -> None:
    # Take the write lock when the transaction starts, not at its first write: a deferred transaction
    # that reads and then writes can fail to upgrade its lock when another writer got in between.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _sqlite_begin_immediate)


def _sqlite_end_transaction_before_close(dbapi_connection: Any, _record: Any) -> None:
    # A connection closed while one of its statements is still running (a task cancelled between a query
    # and its fetch makes SQLAlchemy discard the connection) becomes an SQLite "zombie" that keeps its open
    # transaction, and so the write lock, until the statement is garbage-collected: every other writer
    # waits out busy_timeout and fails. Rolling back first ends the transaction whatever is still open.
    try:
        dbapi_connection.rollback()
    except Exception:  # outside the event loop (a garbage-collected connection) there is nothing to wait on
        log.debug("rollback before closing an SQLite connection failed", exc_info=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; busy_timeout turns lock contention into a wait.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA secure_delete=ON")  # deleted credentials are overwritten, not left in free pages
    cursor.close()


class Database:
    """Owns the engine; hands out sessions for writes and runs reads.

    Reads on SQLite run inline on one persistent connection: aiosqlite sends every call through a worker
    thread, and under 16 concurrent requests those hops cost ~1.4 ms per query against ~60 µs inline
    (measured; see bench/accounts_api.py). In WAL mode a reader never waits for a writer, so an inline
    read does not stall the event loop behind a write. On PostgreSQL reads go through asyncpg as usual.
    The statements are the same SQLAlchemy Core statements on both backends.
    """

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.backend: Backend = backend_of(url)
        kwargs: dict[str, Any] = {}
        if self.backend == "sqlite":
            path = sqlite_path(url)
            if path:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(async_url(url), **kwargs)
        if self.backend == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "connect", _sqlite_no_implicit_transactions)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin_immediate)
            event.listen(self.engine.sync_engine, "close", _sqlite_end_transaction_before_close)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time; queueing our own writers here instead of in SQLite's busy
        # handler (which sleeps in growing steps) keeps write latency flat under concurrency.
        self._write_lock = asyncio.Lock() if self.backend == "sqlite" else None
        self._sync_engine: Engine | None = None
        self._reader: Connection | None = None
        if self.backend == "sqlite":
            self._sync_engine = create_engine(
                async_url(url).set(drivername="sqlite+pysqlite"), poolclass=StaticPool
            )
            event.listen(self._sync_engine, "connect", _sqlite_pragmas)

    async def read(self, statement: Executable, params: dict[str, Any] | None = None) -> list[Row[Any]]:
        """Run a read-only statement and return all its rows."""
        if self._sync_engine is not None:
            if self._reader is None or self._reader.closed:
                self._reader = self._sync_engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            return list(self._reader.execute(statement, params).all())
        async with self.engine.connect() as conn:
            return list((await conn.execute(statement, params)).all())

    async def read_one(self, statement: Executable, params: dict[str, Any] | None = None) -> Row[Any] | None:
        rows = await self.read(statement, params)
        return rows[0] if rows else None

    async def read_scalar(self, statement: Executable, params: dict[str, Any] | None = None) -> Any:
        row = await self.read_one(statement, params)
        return None if row is None else row[0]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction, committed on success and rolled back on error."""
        if self._write_lock is None:
            async with self.sessions() as session, session.begin():
                yield session
            return
        async with self._write_lock, self.sessions() as session, session.begin():
            yield session

    async def ping(self) -> bool:
        try:
            await self.read(text("SELECT 1"))
        except Exception:  # the caller reports "unreachable"; the reason is not for health output
            return False
        return True

    async def dispose(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._sync_engine is not None:
            self._sync_engine.dispose()
        await self.engine.dispose()
