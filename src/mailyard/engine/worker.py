"""One account's connection loop: connect, log in, hold the session, and on failure report the state and
retry after a backoff. It never touches a socket itself; the connector does."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from mailyard.accounts.config import AccountConfig
from mailyard.accounts.states import AccountState
from mailyard.engine.backoff import Backoff
from mailyard.engine.connector import Connector, ImapSession
from mailyard.engine.failures import Failure, FailureCode
from mailyard.engine.plan import ConnectionPlan, build_plan
from mailyard.engine.state_writer import StateWriter
from mailyard.store.base import utcnow

log = logging.getLogger(__name__)


@dataclass
class WorkerDeps:
    connector: Connector
    states: StateWriter
    backoff: Backoff
    keepalive: float = 300.0


def error_record(failure: Failure) -> dict[str, Any]:
    return {"response": failure.response, "serverResponseCode": failure.code.value}


class AccountWorker:
    def __init__(self, config: AccountConfig, deps: WorkerDeps) -> None:
        self.config = config
        self.deps = deps
        self.state: AccountState = AccountState.INIT

    def report(self, state: AccountState, **changes: Any) -> None:
        self.state = state
        self.deps.states.report(self.config.id, self.config.generation, state=state.value, **changes)

    async def run(self) -> None:
        plan = build_plan(self.config)
        if plan.blocked is not None:
            self.report(plan.blocked.state, last_error=error_record(plan.blocked.failure))
            return
        attempt = 0
        while True:
            session_seconds: float | None = None
            self.report(AccountState.CONNECTING)
            try:
                session_seconds = await self._connect_once(plan)
            except Failure as failure:
                state = AccountState.AUTHENTICATION_ERROR if failure.is_auth else AccountState.CONNECT_ERROR
                self.report(state, last_error=error_record(failure))
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError  # a library swallowed our cancellation; honour it anyway
            attempt = self.deps.backoff.next_attempt(attempt, session_seconds)
            await asyncio.sleep(self.deps.backoff.delay(attempt))

    async def _connect_once(self, plan: ConnectionPlan) -> float | None:
        """One connection's life; returns how long the session lasted (None if it never began)."""
        if plan.imap is None:
            await self._check_smtp(plan, raise_failure=True)
            self.report(AccountState.CONNECTED, last_error=None, sync_time=utcnow())
            await asyncio.Event().wait()  # send-only: nothing to hold open, nothing to retry
        assert plan.imap is not None and plan.imap_credentials is not None
        session = await self.deps.connector.open_imap(plan.imap, plan.imap_credentials)
        started = time.monotonic()
        smtp_check = asyncio.create_task(self._check_smtp(plan, raise_failure=False))
        try:
            self.report(AccountState.SYNCING, last_error=None)
            await session.list_folders()
            self.report(AccountState.CONNECTED, sync_time=utcnow())
            await self._hold(session)
        except Failure as failure:
            # Until the next attempt succeeds the account is not connected; say so and why.
            log.info("account %s: session ended: %s", self.config.id, failure.code)
            self.report(AccountState.CONNECT_ERROR, last_error=error_record(failure))
        finally:
            smtp_check.cancel()
            session.abort()
        return time.monotonic() - started

    async def _hold(self, session: ImapSession) -> None:
        """Keep the session alive until the server goes away (NOOP at the keepalive interval)."""
        while not session.closed.is_set():
            try:
                async with asyncio.timeout(self.deps.keepalive):
                    await session.closed.wait()
            except TimeoutError:
                await session.noop()
        raise Failure(FailureCode.CONNECTION_LOST, "connection closed by the server")

    async def _check_smtp(self, plan: ConnectionPlan, *, raise_failure: bool) -> None:
        if plan.smtp is None:
            return
        try:
            await self.deps.connector.check_smtp(plan.smtp, plan.smtp_credentials)
        except Failure as failure:
            self.deps.states.report(self.config.id, self.config.generation, smtp_status={
                "status": "error", "response": failure.response, "code": failure.code.value,
                "created": utcnow().isoformat()})
            if raise_failure:
                raise
            return
        self.deps.states.report(self.config.id, self.config.generation, smtp_status={
            "status": "ok", "response": "Authentication succeeded" if plan.smtp_credentials else "Connected",
            "created": utcnow().isoformat()})
