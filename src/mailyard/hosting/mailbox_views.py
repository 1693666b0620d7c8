"""What a hosted mailbox looks like to callers, and the login columns derived from its settings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mailyard.hosting.settings import MailboxSettings, settings_to_json
from mailyard.hosting.sieve import render_sieve

# Which per-service switch turns off which protocol name (Dovecot's %s, or what /v2/auth/check is told).
_OFF_WHEN_SET = {
    "imap_disabled": ("imap",),
    "pop_disabled": ("pop3",),
    # Dovecot's submission service, and Postfix's SASL requests (service "smtp").
    "smtp_disabled": ("submission", "smtp"),
    "webmail_disabled": ("webmail",),
}
_OFF_WHEN_UNSET = {
    "chat": ("chat",),
    "activesync": ("activesync",),
    "meeting": ("meeting",),
    "calendar": ("calendar",),
    "dav": ("dav",),
    "api_enabled": ("api",),
}


def disabled_services(settings: MailboxSettings) -> str:
    """The `disabled_services` column: ",imap,chat," style, so one SQL LIKE tests any service."""
    off: list[str] = []
    for name, services in _OFF_WHEN_SET.items():
        if getattr(settings, name):
            off.extend(services)
    for name, services in _OFF_WHEN_UNSET.items():
        if not getattr(settings, name):
            off.extend(services)
    return "," + "".join(f"{service}," for service in off)


def allow_nets_column(settings: MailboxSettings) -> str | None:
    return ",".join(settings.allow_nets) if settings.allow_nets else None


DEFAULT_BOUNCE = "This mailbox does not accept messages"


def bounce_reply(settings: MailboxSettings) -> str | None:
    """Postfix's access-table answer for bounce_mail: refused at RCPT time with the mailbox's message."""
    return f"REJECT {settings.bounce_msg or DEFAULT_BOUNCE}" if settings.bounce_mail else None


def sieve_columns(settings: MailboxSettings, address: str) -> tuple[str, str]:
    """The Sieve script Dovecot runs for this mailbox and its id (a digest: Pigeonhole caches compiled
    scripts by id, so a new text must come with a new id). Every mailbox has one; "keep" does nothing."""
    script = render_sieve(settings, address) or "keep;\n"
    return hashlib.sha256(script.encode()).hexdigest()[:32], script


@dataclass(frozen=True)
class QuotaUsage:
    limit_bytes: int | None
    used_bytes: int
    used_messages: int

    def to_json(self) -> dict[str, Any]:
        return {"limit_bytes": self.limit_bytes, "used_bytes": self.used_bytes, "used_messages": self.used_messages}


@dataclass(frozen=True)
class MailboxView:
    id: int
    user_id: str
    domain: str
    local_part: str
    address: str
    display_name: str | None
    status: str
    is_default: bool
    password_set_at: datetime
    password_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    settings: MailboxSettings
    quota: QuotaUsage
    otp: dict[str, str] | None = field(default=None)  # set once, when force_otp created a new secret

    def settings_json(self) -> dict[str, Any]:
        return settings_to_json(self.settings)
