"""Browser sessions of the dashboard: a random cookie value, of which the store keeps only the SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select

from mailyard.store.base import utcnow
from mailyard.store.db import Database
from mailyard.web.records import WebSessionRecord

COOKIE = "mailyard_session"
LIFETIME = timedelta(hours=12)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class WebSessions:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def start(self, username: str) -> str:
        """A new session; the returned value goes into the cookie and nowhere else."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        async with self.db.transaction() as session:
            await session.execute(delete(WebSessionRecord).where(WebSessionRecord.expires_at < now))
            session.add(WebSessionRecord(token_hash=_hash(token), username=username, created_at=now,
                                         expires_at=now + LIFETIME))
        return token

    async def user(self, token: str | None) -> str | None:
        """Who holds this cookie, or None for a missing, unknown or expired one."""
        if not token or len(token) > 128:
            return None
        row = await self.db.read_one(
            select(WebSessionRecord.username, WebSessionRecord.expires_at)
            .where(WebSessionRecord.token_hash == _hash(token))
        )
        if row is None or row.expires_at <= utcnow():
            return None
        return str(row.username)

    async def end(self, token: str | None) -> None:
        if token:
            async with self.db.transaction() as session:
                await session.execute(delete(WebSessionRecord).where(WebSessionRecord.token_hash == _hash(token)))
