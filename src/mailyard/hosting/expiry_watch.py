"""destroy_sessions_on_password_expiration: when a password expires, end the mailbox's open sessions.

New logins are refused by the login rules the moment the password expires; sessions opened before that
are ended by this periodic check, once per expiry.
"""

from __future__ import annotations

from sqlalchemy import or_, select, update

from mailyard.hosting.listener import HostingListener
from mailyard.hosting.records import HostedMailboxRecord
from mailyard.hosting.settings import settings_from_json
from mailyard.store.base import utcnow
from mailyard.store.db import Database


class ExpiryWatch:
    def __init__(self, db: Database, listener: HostingListener) -> None:
        self.db = db
        self.listener = listener

    async def run_once(self) -> list[str]:
        """End the sessions of every mailbox whose password expired since the last round; returns them."""
        now = utcnow()
        m = HostedMailboxRecord
        rows = await self.db.read(
            select(m.id, m.address, m.settings).where(
                m.password_expires_at <= now,
                or_(m.sessions_closed_at.is_(None), m.sessions_closed_at < m.password_expires_at),
            )
        )
        if not rows:
            return []
        async with self.db.transaction() as session:
            await session.execute(update(m).where(m.id.in_([row.id for row in rows])).values(sessions_closed_at=now))
        addresses = [row.address for row in rows
                     if settings_from_json(row.settings or {}).destroy_sessions_on_password_expiration]
        if addresses:
            self.listener.logins_revoked(addresses)
        return addresses
