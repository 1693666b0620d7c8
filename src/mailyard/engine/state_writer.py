"""Batches the engine's account-state writes (and the events they cause) into few transactions.

Each report carries the account's generation; a write for an older generation than the stored one is
dropped with its events, so a worker being replaced can never overwrite what its successor or the API
wrote. After each commit the change feed hears the new states and webhook delivery is woken.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from mailyard.accounts.records import AccountRecord
from mailyard.aio import cancel_and_wait
from mailyard.events.outbox import NewEvent, write_events_many
from mailyard.store.base import utcnow
from mailyard.store.db import Database

log = logging.getLogger(__name__)

_COLUMNS = frozenset({"state", "last_error", "smtp_status", "sync_time", "initialized_at", "notified_error"})


@dataclass
class _Pending:
    generation: int
    changes: dict[str, Any] = field(default_factory=dict)
    events: list[NewEvent] = field(default_factory=list)


class StateWriter:
    def __init__(self, db: Database, interval: float = 0.05, *,
                 on_states: Callable[[list[dict[str, Any]]], None] | None = None,
                 on_events: Callable[[], None] | None = None) -> None:
        self.db = db
        self.interval = interval
        self.on_states = on_states
        self.on_events = on_events
        self._pending: dict[str, _Pending] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def report(self, account_id: str, generation: int, *, events: list[NewEvent] | None = None,
               **changes: Any) -> None:
        unknown = set(changes) - _COLUMNS
        if unknown:
            raise ValueError(f"not an engine-owned column: {sorted(unknown)}")
        current = self._pending.get(account_id)
        if current is None or current.generation < generation:
            current = self._pending[account_id] = _Pending(generation)
        elif current.generation > generation:
            return
        current.changes.update(changes)
        current.events.extend(events or [])
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="state-writer")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        while self._pending:
            await self.flush()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self.interval)  # let reports of this moment gather into one transaction
            try:
                await self.flush()
            except Exception:
                log.exception("writing account states failed; retrying")
                await asyncio.sleep(1)
                self._wake.set()

    async def flush(self) -> None:
        batch, self._pending = self._pending, {}
        if len(batch) > 500:  # keep IN lists small; the rest goes in the next round
            keys = list(batch)
            self._pending = {k: batch.pop(k) for k in keys[500:]}
            self._wake.set()
        if not batch:
            return
        published: list[dict[str, Any]] = []
        events: dict[str, list[NewEvent]] = {}
        try:
            async with self.db.transaction() as session:
                owners = {row.id: row for row in (await session.execute(
                    select(AccountRecord.id, AccountRecord.generation, AccountRecord.tenant)
                    .where(AccountRecord.id.in_(list(batch))).with_for_update())).all()}
                # A newer generation or a deleted account: drop this report and its events.
                valid = {a: item for a, item in batch.items()
                         if item.changes and a in owners and owners[a].generation == item.generation}
                groups: dict[frozenset[str], list[dict[str, Any]]] = defaultdict(list)
                for account_id, item in valid.items():
                    groups[frozenset(item.changes)].append({"id": account_id, **item.changes})
                    events[account_id] = item.events
                    if "state" in item.changes:
                        published.append({"account": account_id, "tenant": owners[account_id].tenant,
                                          "state": item.changes["state"], "lastError": item.changes.get("last_error"),
                                          "date": utcnow()})
                for rows in groups.values():  # one executemany per set of columns
                    await session.execute(update(AccountRecord), rows)
                await write_events_many(session, events)
        except BaseException:
            for account_id, item in batch.items():  # keep what failed, unless newer reports replaced it
                self._pending.setdefault(account_id, item)
            raise
        if published and self.on_states is not None:
            self.on_states(published)
        if any(events.values()) and self.on_events is not None:
            self.on_events()
