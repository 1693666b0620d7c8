"""Persisting what sync saw: folder rows and their events, guarded by the account's generation so a replaced
connection can never write into a reconfigured account.

Writes from all connections are gathered for a moment and committed together: thousands of accounts
connecting at once cost a few dozen transactions, not thousands (each caller still waits for its own
commit, and a stale generation fails only its own write).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from mailyard.accounts.records import AccountRecord
from mailyard.aio import cancel_and_wait
from mailyard.engine.folder_records import FolderRecord
from mailyard.engine.folder_sync import FolderState, SyncResult
from mailyard.engine.folders import FolderInfo
from mailyard.engine.imap_parse import FolderStatus
from mailyard.engine.uidset import UidSet
from mailyard.events.outbox import EventNotifier, NewEvent, write_events_many
from mailyard.store.base import utcnow
from mailyard.store.db import Database

log = logging.getLogger(__name__)

GONE = "\\NonExistent"  # a folder that disappeared; its state is kept so a recreation reads as a reset
_BATCH = 400  # accounts per transaction (keeps IN lists far below SQLite's variable limit)


class StaleGeneration(Exception):
    """The account changed (or was deleted) since this connection started; its results are void."""


@dataclass
class StoredFolder:
    path: str
    special_use: str | None
    state: FolderState
    unseen: int | None
    gone: bool = False


@dataclass
class _Listing:
    folders: list[FolderInfo]
    statuses: dict[str, FolderStatus]
    events: list[NewEvent]


@dataclass
class _Job:
    account_id: str
    generation: int
    listing: _Listing | None
    results: list[SyncResult]
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


def _state(row: Any) -> FolderState:
    return FolderState(
        row.path, row.uidvalidity, row.uidnext, row.highestmodseq, row.messages, UidSet.parse(row.uids),
        {flag: UidSet.parse(text) for flag, text in (row.flag_uids or {}).items()},
    )


class FolderStore:
    def __init__(self, db: Database, notifier: EventNotifier, interval: float = 0.02) -> None:
        self.db = db
        self.notifier = notifier
        self.interval = interval
        self._jobs: list[_Job] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def load(self, account_id: str) -> dict[str, StoredFolder]:
        rows = await self.db.read(select(FolderRecord.__table__).where(FolderRecord.account_id == account_id))
        return {row.path: StoredFolder(row.path, row.special_use, _state(row), row.unseen, GONE in (row.flags or []))
                for row in rows}

    async def save_listing(self, account_id: str, generation: int, folders: list[FolderInfo],
                           statuses: dict[str, FolderStatus], events: list[NewEvent],
                           synced: list[SyncResult] | None = None) -> None:
        """The folder list as the server has it now (new rows, updated roles and counters, folders gone),
        with the folders synced alongside it."""
        await self._submit(_Job(account_id, generation, _Listing(folders, statuses, events), list(synced or [])))

    async def save_sync(self, account_id: str, generation: int, result: SyncResult) -> None:
        await self._submit(_Job(account_id, generation, None, [result]))

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    # -- batching --------------------------------------------------------------------------------
    async def _submit(self, job: _Job) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="folder-store")
        self._jobs.append(job)
        self._wake.set()
        await job.done

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self.interval)
            while self._jobs:
                batch, self._jobs = self._jobs[:_BATCH], self._jobs[_BATCH:]
                try:
                    wrote_events = await self._commit(batch)
                except Exception as exc:
                    log.exception("saving folder state failed")
                    for job in batch:
                        if not job.done.done():
                            job.done.set_exception(exc)
                    continue
                for job in batch:
                    if not job.done.done():
                        job.done.set_result(None)
                if wrote_events:
                    self.notifier.events_written()

    async def _commit(self, batch: list[_Job]) -> bool:
        accounts = list({job.account_id for job in batch})
        events: dict[str, list[NewEvent]] = defaultdict(list)
        async with self.db.transaction() as session:
            generations = dict((await session.execute(
                select(AccountRecord.id, AccountRecord.generation).where(AccountRecord.id.in_(accounts))
                .with_for_update())).all())
            valid = []
            for job in batch:
                if generations.get(job.account_id) != job.generation:
                    job.done.set_exception(StaleGeneration(job.account_id))
                else:
                    valid.append(job)
            rows: dict[tuple[str, str], FolderRecord] = {
                (row.account_id, row.path): row for row in (await session.scalars(
                    select(FolderRecord).where(FolderRecord.account_id.in_({j.account_id for j in valid})))).all()
            }
            for job in valid:
                if job.listing is not None:
                    self._apply_listing(session, rows, job.account_id, job.listing)
                    events[job.account_id] += job.listing.events
                for result in job.results:
                    self._apply_state(session, rows, job.account_id, result.state)
                    events[job.account_id] += result.events
            await write_events_many(session, events)
        return any(events.values())

    @staticmethod
    def _row(session: Any, rows: dict[tuple[str, str], FolderRecord], account_id: str, path: str) -> FolderRecord:
        row = rows.get((account_id, path))
        if row is None:
            row = FolderRecord(account_id=account_id, path=path, flag_uids={}, flags=[], subscribed=True)
            session.add(row)
            rows[(account_id, path)] = row
        return row

    def _apply_listing(self, session: Any, rows: dict[tuple[str, str], FolderRecord], account_id: str,
                       listing: _Listing) -> None:
        present = set()
        for folder in listing.folders:
            present.add(folder.path)
            row = self._row(session, rows, account_id, folder.path)
            row.delimiter = folder.delimiter
            row.special_use = folder.special_use
            row.subscribed = folder.subscribed
            row.flags = ["\\Noselect"] if folder.no_select else []
            status = listing.statuses.get(folder.path)
            if status is not None:
                row.messages, row.unseen = status.messages, status.unseen
        for (owner, path), row in rows.items():
            if owner == account_id and path not in present:
                row.flags = [GONE]

    def _apply_state(self, session: Any, rows: dict[tuple[str, str], FolderRecord], account_id: str,
                     state: FolderState) -> None:
        row = self._row(session, rows, account_id, state.path)
        row.uidvalidity, row.uidnext, row.highestmodseq = state.uidvalidity, state.uidnext, state.highestmodseq
        row.messages = state.messages
        row.unseen = state.unseen
        row.uids = str(state.uids)
        row.flag_uids = {flag: str(uids) for flag, uids in state.flags.items()}
        row.synced_at = utcnow()
