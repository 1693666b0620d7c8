"""Writing events: into the outbox, inside the caller's transaction, with the account's counters.

Callers pass the session of the transaction that makes the change; the event exists exactly when the
change does. After the commit they call `EventNotifier.events_written()` so delivery starts at once.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select, update
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
    if not events:
        return []
    now = utcnow()
    ids: list[str] = []
    for new in events:
        event_id = str(uuid.uuid4())
        ids.append(event_id)
        session.add(EventRecord(
            event_id=event_id, account=account_id, event=new.event.value, path=new.path,
            special_use=new.special_use, data=new.data, created_at=now, next_attempt_at=now,
            status="pending", attempts=0,
        ))
    if count:
        await bump_counters(session, account_id, Counter(e.event.value for e in events))
    return ids


async def bump_counters(session: AsyncSession, account_id: str, counts: Counter[str]) -> None:
    row = (await session.execute(
        select(AccountRecord.counters).where(AccountRecord.id == account_id).with_for_update()
    )).first()
    if row is None:
        return  # the account is being deleted; its events still go out, its counters go with it
    counters = dict(row.counters or {})
    totals = dict(counters.get("events") or {})
    for name, amount in counts.items():
        totals[name] = int(totals.get(name, 0)) + amount
    counters["events"] = totals
    await session.execute(update(AccountRecord).where(AccountRecord.id == account_id).values(counters=counters))
