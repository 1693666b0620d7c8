"""The SQLite user table that a test Dovecot instance (and Postfix's recipient check) read.

Passwords are stored as ``{PLAIN}secret`` so that every mechanism works: CRAM-MD5 needs the plaintext,
and XOAUTH2/OAUTHBEARER in Dovecot 2.3 verify the bearer token like a plain password.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username   TEXT PRIMARY KEY,
    password   TEXT NOT NULL,
    home       TEXT NOT NULL,
    quota_rule TEXT,
    active     INTEGER NOT NULL DEFAULT 1
)
"""


def quota_rule(quota_bytes: int | None) -> str | None:
    """Dovecot's userdb ``quota_rule`` for a byte limit; ``None`` means unlimited."""
    return None if quota_bytes is None else f"*:bytes={quota_bytes}"


class UserStore:
    """Read/write access to the users table; every call is its own short transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # Short-lived connections keep no lock open that could block Dovecot's or Postfix's readers.
        with closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
            yield conn

    def create(self) -> None:
        with self._connect() as conn:
            conn.execute(_SCHEMA)
        # Postfix's smtpd (user postfix) reads this file to reject unknown recipients.
        self.path.chmod(0o644)

    def add(self, username: str, password: str, home: Path, quota_bytes: int | None) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO users (username, password, home, quota_rule) VALUES (?, ?, ?, ?)",
                (username, "{PLAIN}" + password, str(home), quota_rule(quota_bytes)),
            )

    def add_many(self, users: list[tuple[str, str, Path]]) -> None:
        with self._connect() as conn:
            conn.executemany(
                "INSERT INTO users (username, password, home) VALUES (?, ?, ?)",
                [(username, "{PLAIN}" + password, str(home)) for username, password, home in users],
            )

    def _update(self, username: str, column: str, value: str | None) -> None:
        with self._connect() as conn:
            cursor = conn.execute(f"UPDATE users SET {column} = ? WHERE username = ?", (value, username))  # noqa: S608
        if cursor.rowcount != 1:
            raise KeyError(f"no such Dovecot user: {username}")

    def set_password(self, username: str, password: str) -> None:
        self._update(username, "password", "{PLAIN}" + password)

    def set_quota(self, username: str, quota_bytes: int | None) -> None:
        self._update(username, "quota_rule", quota_rule(quota_bytes))

    def remove(self, username: str) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM users WHERE username = ?", (username,))

    def usernames(self) -> list[str]:
        with self._connect() as conn:
            return [row[0] for row in conn.execute("SELECT username FROM users ORDER BY username")]
