"""Batches the engine's account-state writes into few transactions.

Each report carries the account's generation; a write for an older generation than the stored one is
dropped, so a worker being replaced can never overwrite what its successor or the API wrote.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import update

from mailyard.accounts.records import AccountRecord
from mailyard.store.db import Database

log = logging.getLogger(__name__)

_COLUMNS = frozenset({"state", "last_error", "smtp_status", "sync_time"})


class StateWriter:
    def __init__(self, db: Database, interval: float = 0.05) -> None:
        self.db = db
        self.interval = interval
        self._pending: dict[str, tuple[int, dict[str, Any]]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def report(self, account_id: str, generation: int, **changes: Any) -> None:
        unknown = set(changes) - _COLUMNS
        if unknown:
            raise ValueError(f"not an engine-owned column: {sorted(unknown)}")
        current = self._pending.get(account_id)
        if current is not None and current[0] == generation:
            current[1].update(changes)
        elif current is None or current[0] < generation:
            self._pending[account_id] = (generation, dict(changes))
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="state-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
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
        if not batch:
            return
        try:
            async with self.db.transaction() as session:
                for account_id, (generation, changes) in batch.items():
                    await session.execute(
                        update(AccountRecord)
                        .where(AccountRecord.id == account_id, AccountRecord.generation == generation)
                        .values(**changes)
                    )
        except BaseException:
            for account_id, item in batch.items():  # keep what failed, unless newer reports replaced it
                self._pending.setdefault(account_id, item)
            raise
