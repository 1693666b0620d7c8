"""Database URLs: the user writes sqlite:// or postgresql://; the store picks the async driver."""

import pytest

from mailyard.store.urls import UnsupportedDatabase, async_url, backend_of, mask_password, sqlite_path


def test_sqlite_url_uses_aiosqlite() -> None:
    assert async_url("sqlite:////tmp/x.db").drivername == "sqlite+aiosqlite"
    assert sqlite_path("sqlite:////tmp/x.db") == "/tmp/x.db"


@pytest.mark.parametrize("url", ["postgresql://u@h/db", "postgres://u@h/db"])
def test_postgresql_url_uses_asyncpg(url: str) -> None:
    assert backend_of(url) == "postgresql"
    assert async_url(url).drivername == "postgresql+asyncpg"


def test_other_databases_are_refused_by_name() -> None:
    with pytest.raises(UnsupportedDatabase, match="mysql"):
        backend_of("mysql://u@h/db")


def test_password_is_masked() -> None:
    masked = mask_password("postgresql://mail:s3cret@db.local/mailyard")
    assert "s3cret" not in masked and "mail:***@db.local" in masked
