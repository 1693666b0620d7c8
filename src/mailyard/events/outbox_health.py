"""How webhook delivery is doing, for the dashboard: outbox depth and the deliveries that keep failing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from mailyard.events.records import FAILED, PENDING, EventRecord
from mailyard.store.db import Database


@dataclass(frozen=True)
class FailingDelivery:
    event_id: str
    account: str
    event: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    gave_up: bool


@dataclass(frozen=True)
class OutboxHealth:
    pending: int  # waiting to be delivered, retries included
    retrying: int  # pending after at least one failed attempt
    failed: int  # given up after the whole retry window
    failing: list[FailingDelivery]


async def outbox_health(db: Database, *, limit: int = 10) -> OutboxHealth:
    counts = dict(await db.read(
        select(EventRecord.status, func.count()).where(EventRecord.status.in_((PENDING, FAILED)))
        .group_by(EventRecord.status)
    ))
    retrying = await db.read_scalar(
        select(func.count()).select_from(EventRecord).where(EventRecord.status == PENDING, EventRecord.attempts > 0)
    ) or 0
    rows = await db.read(
        select(EventRecord.event_id, EventRecord.account, EventRecord.event, EventRecord.attempts,
               EventRecord.last_error, EventRecord.next_attempt_at, EventRecord.status)
        .where(EventRecord.last_error.is_not(None), EventRecord.status.in_((PENDING, FAILED)))
        .order_by(EventRecord.id.desc()).limit(limit)
    )
    failing = [FailingDelivery(r.event_id, r.account, r.event, r.attempts, r.last_error,
                               r.next_attempt_at if r.status == PENDING else None, r.status == FAILED)
               for r in rows]
    return OutboxHealth(counts.get(PENDING, 0), retrying, counts.get(FAILED, 0), failing)
