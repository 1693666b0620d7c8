"""Store fixtures: every store-backed test runs on SQLite, and on PostgreSQL too when
MAILYARD_TEST_DATABASE_URL is set (CI sets it)."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from mailyard.store.db import Database
from mailyard.store.migrate import migrate

T = TypeVar("T")

PG_URL = os.environ.get("MAILYARD_TEST_DATABASE_URL")
STORES = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def _pg_params(url: str) -> dict[str, object]:
    parsed = make_url(url)
    return {"host": parsed.host or "127.0.0.1", "port": parsed.port or 5432, "user": parsed.username,
            "password": parsed.password, "database": parsed.database}


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync fixture code, on a private loop in another thread
    (so the test session's own event loop is never disturbed)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await migrate(db)
    finally:
        await db.dispose()


async def _pg_admin(sql: str) -> None:
    assert PG_URL
    conn = await asyncpg.connect(**_pg_params(PG_URL))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A migrated PostgreSQL database of this test session, dropped at the end."""
    assert PG_URL
    name = f"mailyard_test_{os.getpid()}_{secrets.token_hex(3)}"
    run_sync(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        run_sync(_migrate(url))
        yield url
    finally:
        run_sync(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate_all(url: str) -> None:
    conn = await asyncpg.connect(**_pg_params(url))
    try:
        tables = [r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")]
        if tables:
            await conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An SQLite file migrated once; each test gets a copy (cheaper than migrating again)."""
    path = tmp_path_factory.mktemp("store-template") / "mailyard.db"
    run_sync(_migrate(f"sqlite:///{path}"))
    yield path


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh, migrated, empty store for one test."""
    if request.param == "sqlite":
        target = tmp_path / "store" / "mailyard.db"
        target.parent.mkdir()
        shutil.copy(sqlite_template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("pg_database")
    run_sync(_truncate_all(url))
    return url
