"""Database URL handling: one user-facing form (`sqlite:///…`, `postgresql://…`) per backend."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.engine import URL, make_url

Backend = Literal["sqlite", "postgresql"]

_ASYNC_DRIVERS: dict[str, str] = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


class UnsupportedDatabase(ValueError):
    """The URL names a database Mailyard does not run on."""


def backend_of(url: str) -> Backend:
    name = make_url(url).get_backend_name()
    if name == "postgres":
        return "postgresql"
    if name not in _ASYNC_DRIVERS:
        raise UnsupportedDatabase(f"unsupported database {name!r}: use sqlite:///path or postgresql://…")
    return name  # type: ignore[return-value]


def async_url(url: str) -> URL:
    """The SQLAlchemy URL with the async driver this backend runs on."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    return parsed.set(drivername=_ASYNC_DRIVERS[backend_of(url)])


def sqlite_path(url: str) -> str | None:
    """The file of an SQLite URL (None for in-memory or other backends)."""
    parsed = make_url(url)
    if backend_of(url) != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return parsed.database


def mask_password(url: str) -> str:
    parsed = make_url(url)
    if parsed.password is None:
        return url
    return parsed.render_as_string(hide_password=True)
