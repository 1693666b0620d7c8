"""The supervisor: one asyncio task per enabled account, started, replaced and stopped as accounts change.

The API calls `account_changed(id)` after committing; the supervisor reloads that account and acts within
the same event-loop turn or the next: a new generation restarts the worker, disabled or deleted stops it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from mailyard.accounts.config import AccountConfig
from mailyard.accounts.states import AccountState
from mailyard.aio import cancel_and_wait
from mailyard.engine.worker import AccountWorker, WorkerDeps

log = logging.getLogger(__name__)

ConfigLoader = Callable[[str], Awaitable[AccountConfig | None]]
EnabledLister = Callable[[], AsyncIterator[AccountConfig]]


class Supervisor:
    def __init__(self, deps: WorkerDeps, load: ConfigLoader, enabled: EnabledLister) -> None:
        self.deps = deps
        self._load = load
        self._enabled = enabled
        self._workers: dict[str, tuple[AccountWorker, asyncio.Task[None]]] = {}
        self._changes: asyncio.Queue[str] = asyncio.Queue()
        self._loop_task: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        self.deps.states.start()
        async for config in self._enabled():
            self._spawn(config)
        self._loop_task = asyncio.create_task(self._apply_changes(), name="supervisor")

    async def stop(self) -> None:
        await cancel_and_wait(self._loop_task)
        await asyncio.gather(*(self._stop_worker(account_id) for account_id in list(self._workers)))
        await self.deps.states.stop()

    # -- changes ------------------------------------------------------------------------------------
    def account_changed(self, account_id: str) -> None:
        self._changes.put_nowait(account_id)

    async def _apply_changes(self) -> None:
        while True:
            account_id = await self._changes.get()
            try:
                await self._apply(account_id)
            except Exception:
                log.exception("applying a change to account %s failed", account_id)

    async def _apply(self, account_id: str) -> None:
        config = await self._load(account_id)
        current = self._workers.get(account_id)
        if config is None or config.disabled:
            await self._stop_worker(account_id)
            return
        if current is not None and current[0].config.generation == config.generation and not current[1].done():
            current[0].config = config  # same connection settings; keep the session
            return
        await self._stop_worker(account_id)
        self._spawn(config)

    def _spawn(self, config: AccountConfig) -> None:
        worker = AccountWorker(config, self.deps)
        task = asyncio.create_task(self._run(worker), name=f"account:{config.id}")
        self._workers[config.id] = (worker, task)

    async def _run(self, worker: AccountWorker) -> None:
        crashes = 0
        while True:
            try:
                await worker.run()
                return
            except Exception:
                # A bug must not silently park an account: show it, then try again later.
                log.exception("account %s: worker crashed", worker.config.id)
                worker.report(AccountState.CONNECT_ERROR, last_error={
                    "response": "internal error in the engine", "serverResponseCode": "EINTERNAL"})
                crashes += 1
                await asyncio.sleep(self.deps.backoff.delay(crashes))

    async def _stop_worker(self, account_id: str) -> None:
        entry = self._workers.pop(account_id, None)
        if entry is None:
            return
        _, task = entry
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # we are being cancelled ourselves, not just seeing the worker's cancellation

    def request_sync(self, account_id: str) -> bool:
        """Ask the account's connection to resync every watched folder now; False if it is not running."""
        entry = self._workers.get(account_id)
        if entry is None or entry[1].done():
            return False
        entry[0].request_sync()
        return True

    # -- introspection -------------------------------------------------------------------------------
    @property
    def running(self) -> int:
        return sum(1 for _, task in self._workers.values() if not task.done())
