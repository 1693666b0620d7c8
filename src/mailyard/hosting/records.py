"""The hosting tables: domains, mailboxes, password history and the quota usage Dovecot reports.

Dovecot reads `hosted_domains` and `hosted_mailboxes` directly (see `mailserver/dovecot_sql.py`), so
the columns its login rules need are plain columns, derived from the settings JSON whenever it changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mailyard.store.base import Base, UTCDateTime, encrypted_column, utcnow


class HostedDomainRecord(Base):
    __tablename__ = "hosted_domains"
    # No id reuse after a delete: a client holding an old id must never reach a newer domain.
    __table_args__ = (Index("ix_hosted_domains_user_id_id", "user_id", "id"),
                      Index("ix_hosted_domains_status", "status"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(253), unique=True)
    user_id: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    verification_token: Mapped[str] = mapped_column(String(64))
    dkim_selector: Mapped[str] = mapped_column(String(63))
    dkim_private_key: Mapped[str] = encrypted_column()
    dkim_public_key: Mapped[str] = mapped_column(Text)
    dns_checks: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    forward_mode: Mapped[str] = mapped_column(String(32), default="store")
    webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str | None] = encrypted_column(nullable=True)
    hook_token: Mapped[str | None] = mapped_column(String(64))  # in the webhook-copy address (hook_addresses.py)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HostedMailboxRecord(Base):
    __tablename__ = "hosted_mailboxes"
    __table_args__ = (Index("ix_hosted_mailboxes_user_id_id", "user_id", "id"),
                      Index("ix_hosted_mailboxes_domain_id_id", "domain_id", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("hosted_domains.id"))
    user_id: Mapped[str] = mapped_column(String(255))
    local_part: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), default="active")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # Dovecot's `{ARGON2ID}$argon2id$...` form: a hash, not a secret, so Dovecot can read it as-is.
    password_hash: Mapped[str] = mapped_column(Text)
    password_set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the sessions of an expired password were last ended (destroy_sessions_on_password_expiration).
    sessions_closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # ",imap,chat," — one LIKE in the shared login rules covers every per-service switch.
    disabled_services: Mapped[str] = mapped_column(Text, default=",")
    # Comma-separated networks in Dovecot's `allow_nets` form; NULL when unrestricted.
    allow_nets: Mapped[str | None] = mapped_column(Text)
    quota_bytes: Mapped[int | None] = mapped_column(BigInteger)
    # Postfix's access-table answer for bounce_mail ("REJECT <bounce_msg>"); NULL when mail is accepted.
    bounce_reply: Mapped[str | None] = mapped_column(Text)
    # The Sieve script Dovecot runs at delivery (read through its SQL dict); the id changes with the text.
    sieve_id: Mapped[str] = mapped_column(String(64), default="")
    sieve_script: Mapped[str] = mapped_column(Text, default="")
    otp_secret: Mapped[str | None] = encrypted_column(nullable=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HostedAliasRecord(Base):
    """An alias address of a hosted domain, delivering to up to 20 destinations (inside or outside it)."""

    __tablename__ = "hosted_aliases"
    __table_args__ = (Index("ix_hosted_aliases_domain_id_name", "domain_id", "name"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("hosted_domains.id"))
    user_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(320), unique=True)
    destinations: Mapped[list[str]] = mapped_column(JSON, default=list)
    # "a@x.test,b@y.test": the form Postfix's virtual_alias_maps answers with.
    destinations_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboundCountRecord(Base):
    """Messages a mailbox submitted per UTC day, counted by the Postfix policy service (outbound_limit)."""

    __tablename__ = "hosted_outbound_counts"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, UTC
    count: Mapped[int] = mapped_column(Integer, default=0)


class PasswordHistoryRecord(Base):
    """Earlier password hashes of a mailbox, for block_old_password."""

    __tablename__ = "hosted_password_history"
    __table_args__ = (Index("ix_hosted_password_history_mailbox_id", "mailbox_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("hosted_mailboxes.id", ondelete="CASCADE"))
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecoveryCodeRecord(Base):
    """A password-recovery code sent to a mailbox's secondary address; only its SHA-256 is kept."""

    __tablename__ = "hosted_recovery_codes"
    __table_args__ = (Index("ix_hosted_recovery_codes_mailbox_id", "mailbox_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("hosted_mailboxes.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuotaUsageRecord(Base):
    """Written by Dovecot's quota_clone plugin through its SQL dict; read-only for Mailyard."""

    __tablename__ = "hosted_quota_usage"

    username: Mapped[str] = mapped_column(String(320), primary_key=True)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    messages: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
