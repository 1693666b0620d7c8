"""Tables of the event system: the outbox (`events`) and the key/value `settings`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mailyard.store.base import Base, UTCDateTime, encrypted_column, utcnow

PENDING = "pending"
DELIVERED = "delivered"
SKIPPED = "skipped"  # no webhook applied when it was due (disabled, filtered out, no URL)
FAILED = "failed"  # retried for the whole retry window without success


class EventRecord(Base):
    """One event, written in the same transaction as the change that caused it, delivered at least once."""

    __tablename__ = "events"

    # BigInteger for PostgreSQL; SQLite needs INTEGER for an auto-incrementing rowid alias.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    account: Mapped[str] = mapped_column(String(256))
    event: Mapped[str] = mapped_column(String(64))
    path: Mapped[str | None] = mapped_column(Text)
    special_use: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_events_status_account_id", "status", "account", "id"),
        Index("ix_events_created_at", "created_at"),
    )


class SettingRecord(Base):
    """A service-wide setting; `secret` holds write-only values (encrypted)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    secret: Mapped[str | None] = encrypted_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
