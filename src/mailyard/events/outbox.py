"""Writing events: into the outbox, inside the caller's transaction, with the account's counters.

Callers pass the session of the transaction that makes the change; the event exists exactly when the
change does. After the commit they call `EventNotifier.events_written()` so delivery starts at once.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mailyard.accounts.records import AccountRecord
from mailyard.events.records import EventRecord
from mailyard.events.types import EventType
from mailyard.store.base import utcnow


class EventNotifier(Protocol):
    def events_written(self) -> None: ...


@dataclass
class NewEvent:
    """An event about to be written."""

    event: EventType
    data: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    special_use: str | None = None


async def write_events(session: AsyncSession, account_id: str, events: list[NewEvent], *,
                       count: bool = True) -> list[str]:
    """Add the events to the outbox and to the account's `counters.events`; returns their event ids."""
    return (await write_events_many(session, {account_id: events}, count=count)).get(account_id, [])


async def write_events_many(session: AsyncSession, events: dict[str, list[NewEvent]], *,
                            count: bool = True) -> dict[str, list[str]]:
    """The same for many accounts at once: one INSERT batch, one read and one write of the counters."""
    events = {account: found for account, found in events.items() if found}
    if not events:
        return {}
    now = utcnow()
    ids: dict[str, list[str]] = {}
    rows: list[dict[str, Any]] = []
    for account_id, found in events.items():
        for new in found:
            event_id = str(uuid.uuid4())
            ids.setdefault(account_id, []).append(event_id)
            rows.append({"event_id": event_id, "account": account_id, "event": new.event.value, "path": new.path,
                         "special_use": new.special_use, "data": new.data, "created_at": now,
                         "next_attempt_at": now, "status": "pending", "attempts": 0})
    await session.execute(insert(EventRecord), rows)
    if count:
        await _bump_counters(session, {a: Counter(e.event.value for e in found) for a, found in events.items()})
    return ids


async def _bump_counters(session: AsyncSession, counts: dict[str, Counter[str]]) -> None:
    current = (await session.execute(
        select(AccountRecord.id, AccountRecord.counters).where(AccountRecord.id.in_(list(counts))).with_for_update()
    )).all()
    changes = []
    for account_id, stored in current:  # an account being deleted is absent: its counters go with it
        counters = dict(stored or {})
        totals = dict(counters.get("events") or {})
        for name, amount in counts[account_id].items():
            totals[name] = int(totals.get(name, 0)) + amount
        counters["events"] = totals
        changes.append({"id": account_id, "counters": counters})
    if changes:
        await session.execute(update(AccountRecord), changes)
