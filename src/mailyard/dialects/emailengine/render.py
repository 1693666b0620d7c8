"""EmailEngine's JSON conventions: ISO dates with milliseconds and `Z`, absent keys instead of nulls."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from mailyard import timefmt
from mailyard.accounts.config import AccountSummary, AccountView


class LastError(BaseModel):
    response: str
    serverResponseCode: str


class AccountSummaryOut(BaseModel):
    """An entry of the account list (documentation model)."""

    account: str
    name: str | None = None
    email: str | None = None
    state: str
    syncTime: str | None = None
    lastError: LastError | None = None


class AccountOut(AccountSummaryOut):
    """One account (documentation model): settings without any secret."""

    imap: dict[str, Any] | None = None
    smtp: dict[str, Any] | None = None
    oauth2: dict[str, Any] | None = None
    smtpStatus: dict[str, Any] | None = None
    path: str | list[str] = "*"
    subconnections: list[str] = Field(default_factory=list)
    webhooks: str | None = None
    notifyFrom: str | None = None
    counters: dict[str, dict[str, int]]


class AccountListOut(BaseModel):
    accounts: list[AccountSummaryOut]
    total: int
    page: int
    pages: int


def iso(value: datetime | None) -> str | None:
    return None if value is None else timefmt.iso(value)


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


def account(view: AccountView) -> dict[str, Any]:
    return _compact({
        "account": view.id,
        "name": view.name,
        "email": view.email,
        "state": view.state,
        "syncTime": iso(view.sync_time),
        "lastError": view.last_error if view.state != "connected" else None,
        "oauth2": view.oauth2,
        "imap": view.imap,
        "smtp": view.smtp,
        "smtpStatus": view.smtp_status,
        "path": view.path,
        "subconnections": view.subconnections,
        "webhooks": view.webhooks,
        "notifyFrom": iso(view.notify_from),
        "counters": {"events": view.counters.get("events", {})},
    })


def summary(item: AccountSummary) -> dict[str, Any]:
    return _compact({
        "account": item.id,
        "name": item.name,
        "email": item.email,
        "state": item.state,
        "syncTime": iso(item.sync_time),
        "lastError": item.last_error if item.state != "connected" else None,
    })
