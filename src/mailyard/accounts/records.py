"""Tables of connected accounts: one row per account (secrets in one encrypted column), and the hosted-form
links that were used or ran login checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mailyard.store.base import Base, UTCDateTime, encrypted_column, utcnow


class AccountRecord(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(256), primary_key=True)
    tenant: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(256))
    email: Mapped[str | None] = mapped_column(String(320))
    # Lower-cased "id\nname\nemail": the `query` filter is one substring match on one column.
    search: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(32), default="init")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped by every change the engine must act on; engine writes carry it so stale ones are dropped.
    generation: Mapped[int] = mapped_column(Integer, default=1)
    imap: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    smtp: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    oauth2: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    credentials: Mapped[str | None] = encrypted_column()
    path: Mapped[Any] = mapped_column(JSON, default="*")
    subconnections: Mapped[list[str]] = mapped_column(JSON, default=list)
    webhooks: Mapped[str | None] = mapped_column(Text)
    notify_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sync_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    smtp_status: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    counters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # When the account first reached `connected` (accountInitialized is sent once).
    initialized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last error an event was sent for, so a retry with the same error sends no second event.
    notified_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_accounts_state_id", "state", "id"),
        Index("ix_accounts_tenant_id", "tenant", "id"),
        Index("ix_accounts_id_search", "id", "search"),
    )


class FormLinkUseRecord(Base):
    """A hosted authentication form link that has been completed: links work once."""

    __tablename__ = "form_link_uses"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class FormLinkCheckRecord(Base):
    """How many live login checks a hosted-form link has run (by its nonce), so a leaked link cannot be used
    to guess a mailbox's password; kept in the store so the limit holds across processes and restarts."""

    __tablename__ = "form_link_checks"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    checks: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
