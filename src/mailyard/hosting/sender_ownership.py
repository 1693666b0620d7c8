"""Which sender addresses an authenticated mailbox owns (restrict_from_field).

A mailbox owns its own address and every alias of a hosted domain that delivers to it.
"""

from __future__ import annotations

from sqlalchemy import select

from mailyard.hosting.records import HostedAliasRecord
from mailyard.store.db import Database


async def owns_address(db: Database, login: str, sender: str) -> bool:
    """True when the mailbox `login` may use `sender` as its From or envelope sender."""
    login, sender = login.strip().lower(), sender.strip().lower()
    if not sender or sender == login:
        return bool(sender)
    destinations = await db.read_scalar(
        select(HostedAliasRecord.destinations).where(HostedAliasRecord.address == sender)
    )
    return bool(destinations) and login in (d.lower() for d in destinations)
