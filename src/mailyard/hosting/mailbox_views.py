"""What a hosted mailbox looks like to callers, and the columns the mail servers read, derived from its settings.

The Sieve columns also depend on the aliases that deliver to the mailbox (its autoresponder answers mail sent to
them): `sieve_columns_for` finds them, and `refresh_sieve` re-renders the mailboxes an alias reaches when that
alias is created or deleted.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mailyard.hosting.records import HostedAliasRecord, HostedMailboxRecord
from mailyard.hosting.settings import MailboxSettings, settings_from_json, settings_to_json
from mailyard.hosting.sieve import DEFAULT_BOUNCE, render_sieve

log = logging.getLogger(__name__)
# How deep aliases of aliases are followed. Postfix expands further (virtual_alias_recursion_limit 1000), but
# nobody chains aliases this deep; a deeper chain only misses the autoresponder's :addresses, it delivers anyway.
MAX_ALIAS_DEPTH = 10

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


def bounce_reply(settings: MailboxSettings) -> str | None:
    """Postfix's access-table answer for bounce_mail: refused at RCPT time with the mailbox's message."""
    return f"REJECT {settings.bounce_msg or DEFAULT_BOUNCE}" if settings.bounce_mail else None


def sieve_columns(settings: MailboxSettings, address: str, aliases: Iterable[str] = ()) -> tuple[str, str]:
    """The Sieve script Dovecot runs for this mailbox and its id (a digest: Pigeonhole caches compiled
    scripts by id, so a new text must come with a new id). Every mailbox has one; "keep" does nothing.
    `aliases`: the alias addresses delivering to the mailbox (see `aliases_delivering_to`)."""
    script = render_sieve(settings, address, aliases=aliases) or "keep;\n"
    return hashlib.sha256(script.encode()).hexdigest()[:32], script


def _lower(addresses: Iterable[str]) -> set[str]:
    return {address.lower() for address in addresses}


def aliases_reaching(address: str, by_destination: dict[str, set[str]]) -> list[str]:
    """`aliases_delivering_to` over an in-memory map (destination -> alias addresses, all lower-case), for a
    pass over every mailbox; both must find the same set, or the stored script would change back and forth."""
    target = address.lower()
    found: set[str] = set()
    frontier = {target}
    for _ in range(MAX_ALIAS_DEPTH):
        new = {alias for item in frontier for alias in by_destination.get(item, ())} - found - {target}
        if not new:
            break
        found |= new
        frontier = new
    return sorted(found)


async def aliases_delivering_to(session: AsyncSession, address: str) -> list[str]:
    """The alias addresses whose mail reaches `address`, directly or through other aliases (Postfix expands
    aliases recursively), sorted."""
    target = address.lower()
    found: set[str] = set()
    frontier = {target}
    for _ in range(MAX_ALIAS_DEPTH):
        # A substring match narrows the rows (escaped: "_" is common in addresses); membership decides.
        rows = await session.execute(
            select(HostedAliasRecord.address, HostedAliasRecord.destinations)
            .where(or_(*(HostedAliasRecord.destinations_text.icontains(item, autoescape=True) for item in frontier))))
        new = {alias.lower() for alias, destinations in rows
               if frontier & _lower(destinations or [])} - found - {target}
        if not new:
            break
        found |= new
        frontier = new
    return sorted(found)


async def mailboxes_reached(session: AsyncSession, destinations: Iterable[str]) -> list[str]:
    """The hosted mailboxes that mail to `destinations` ends in, following aliases as Postfix does."""
    seen: set[str] = set()
    reached: set[str] = set()
    frontier = _lower(destinations)
    for _ in range(MAX_ALIAS_DEPTH):
        if not frontier:
            break
        seen |= frontier
        reached.update(await session.scalars(
            select(HostedMailboxRecord.address).where(func.lower(HostedMailboxRecord.address).in_(frontier))))
        nested = await session.scalars(
            select(HostedAliasRecord.destinations).where(func.lower(HostedAliasRecord.address).in_(frontier)))
        frontier = {item for listed in nested for item in _lower(listed or [])} - seen
    return sorted(reached)


async def sieve_columns_for(session: AsyncSession, settings: MailboxSettings, address: str) -> tuple[str, str]:
    """`sieve_columns` with the aliases currently delivering to the mailbox, read in `session`."""
    return sieve_columns(settings, address, await aliases_delivering_to(session, address))


async def refresh_sieve(session: AsyncSession, addresses: Iterable[str]) -> None:
    """Re-render the Sieve columns of these mailboxes, after an alias reaching them was created or deleted."""
    await session.flush()
    for address in sorted(set(addresses)):
        record = await session.scalar(
            select(HostedMailboxRecord).where(HostedMailboxRecord.address == address).with_for_update())
        if record is None:
            continue
        try:
            settings = settings_from_json(record.settings or {})
        except ValueError:
            # Settings stored by an older version that no longer validate: leave the script as it is rather than
            # fail the alias change; the next update of the mailbox reports the bad field.
            log.warning("mailbox %s: stored settings no longer validate; Sieve script not re-rendered", record.id)
            continue
        record.sieve_id, record.sieve_script = await sieve_columns_for(session, settings, record.address)


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
