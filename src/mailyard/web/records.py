"""Tables of the web side: the admin's sign-in credentials, and browser sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mailyard.store.base import Base, UTCDateTime, encrypted_column, utcnow


class AdminCredentialRecord(Base):
    """The dashboard admin: a password hash, an optional TOTP secret (encrypted) and the lock-out counters."""

    __tablename__ = "admin_credentials"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    totp_secret: Mapped[str | None] = encrypted_column(nullable=True)
    # The last TOTP step accepted, so a code cannot be replayed inside its window.
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebSessionRecord(Base):
    """A signed-in browser; only the SHA-256 of the cookie value is kept, like API tokens."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
