"""Accounts as the core sees them: the full configuration (for the engine) and the public view (for APIs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mailyard.accounts.codec import Section


@dataclass
class AccountConfig:
    """Everything the engine needs to run one account, secrets included. Never rendered to a client."""

    id: str
    generation: int
    disabled: bool
    email: str | None
    imap: Section | None
    smtp: Section | None
    oauth2: Section | None
    path: Any = "*"
    subconnections: list[str] = field(default_factory=list)
    notify_from: datetime | None = None
    webhooks: str | None = None
    initialized_at: datetime | None = None
    notified_error: str | None = None

    def __repr__(self) -> str:
        return f"AccountConfig(id={self.id!r}, generation={self.generation})"


@dataclass
class AccountView:
    """An account as any API may show it: no secret anywhere."""

    id: str
    name: str | None
    email: str | None
    state: str
    disabled: bool
    imap: Section | None
    smtp: Section | None
    oauth2: Section | None
    path: Any
    subconnections: list[str]
    webhooks: str | None
    notify_from: datetime | None
    sync_time: datetime | None
    last_error: dict[str, Any] | None
    smtp_status: dict[str, Any] | None
    counters: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass
class AccountSummary:
    id: str
    name: str | None
    email: str | None
    state: str
    sync_time: datetime | None
    last_error: dict[str, Any] | None


@dataclass
class AccountPage:
    accounts: list[AccountSummary]
    total: int
    page: int
    pages: int
