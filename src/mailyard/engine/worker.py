"""One account's connection loop: connect, log in, run the session (sync and watch), and on failure report
the state and retry after a backoff. It never touches a socket itself; the connector and session do.

Account events come from here, written with the state change that causes them: authenticationError and
connectError once per distinct error (not per retry), authenticationSuccess after a login that follows an
error or is the first, accountInitialized the first time the account is connected.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from mailyard.accounts.config import AccountConfig
from mailyard.accounts.states import AccountState
from mailyard.engine.backoff import Backoff
from mailyard.engine.connector import Connector
from mailyard.engine.failures import Failure
from mailyard.engine.folder_store import StaleGeneration
from mailyard.engine.plan import ConnectionPlan, build_plan
from mailyard.engine.session import AccountSession, SessionDeps
from mailyard.engine.state_writer import StateWriter
from mailyard.events.outbox import NewEvent
from mailyard.events.types import EventType
from mailyard.store.base import utcnow

log = logging.getLogger(__name__)


class Session(Protocol):
    sync_requested: asyncio.Event

    async def start(self) -> None: ...

    async def watch(self) -> None: ...


SessionFactory = Callable[..., Session]


@dataclass
class WorkerDeps:
    connector: Connector
    states: StateWriter
    backoff: Backoff
    session: SessionDeps | None = None
    make_session: SessionFactory = AccountSession


def error_record(failure: Failure) -> dict[str, Any]:
    return {"response": failure.response, "serverResponseCode": failure.code.value}


def _signature(failure: Failure) -> str:
    return f"{failure.code.value}:{failure.response}"


class AccountWorker:
    def __init__(self, config: AccountConfig, deps: WorkerDeps) -> None:
        self.config = config
        self.deps = deps
        self.state: AccountState = AccountState.INIT
        self.session: Session | None = None
        self._sync_wanted = False
        self._notified_error = config.notified_error
        self._initialized = config.initialized_at is not None

    def report(self, state: AccountState, *, events: list[NewEvent] | None = None, **changes: Any) -> None:
        self.state = state
        self.deps.states.report(self.config.id, self.config.generation, state=state.value, events=events or [],
                                **changes)

    def request_sync(self) -> None:
        if self.session is not None:
            self.session.sync_requested.set()
        else:
            self._sync_wanted = True

    async def run(self) -> None:
        plan = build_plan(self.config)
        if plan.blocked is not None:
            self._fail(plan.blocked.state, plan.blocked.failure)
            return
        attempt = 0
        while True:
            session_seconds: float | None = None
            self.report(AccountState.CONNECTING)
            try:
                session_seconds = await self._connect_once(plan)
            except Failure as failure:
                self._fail(AccountState.AUTHENTICATION_ERROR if failure.is_auth else AccountState.CONNECT_ERROR,
                           failure)
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError  # a library swallowed our cancellation; honour it anyway
            attempt = self.deps.backoff.next_attempt(attempt, session_seconds)
            await asyncio.sleep(self.deps.backoff.delay(attempt))

    def _fail(self, state: AccountState, failure: Failure) -> None:
        events: list[NewEvent] = []
        changes: dict[str, Any] = {"last_error": error_record(failure)}
        signature = _signature(failure)
        if signature != self._notified_error and state in (AccountState.AUTHENTICATION_ERROR,
                                                            AccountState.CONNECT_ERROR):
            kind = EventType.AUTHENTICATION_ERROR if state is AccountState.AUTHENTICATION_ERROR \
                else EventType.CONNECT_ERROR
            events.append(NewEvent(kind, {"response": failure.response, "serverResponseCode": failure.code.value}))
            self._notified_error = changes["notified_error"] = signature
        self.report(state, events=events, **changes)

    def _connected(self) -> None:
        events: list[NewEvent] = []
        changes: dict[str, Any] = {"last_error": None, "sync_time": utcnow()}
        if self._notified_error is not None or not self._initialized:
            events.append(NewEvent(EventType.AUTHENTICATION_SUCCESS, {"user": self._user()}))
        if not self._initialized:
            events.append(NewEvent(EventType.ACCOUNT_INITIALIZED, {"initialized": True}))
            self._initialized = True
            changes["initialized_at"] = utcnow()
        if self._notified_error is not None:
            self._notified_error = changes["notified_error"] = None
        self.report(AccountState.CONNECTED, events=events, **changes)

    def _user(self) -> str | None:
        plan = build_plan(self.config)
        credentials = plan.imap_credentials or plan.smtp_credentials
        return credentials.user if credentials else None

    async def _connect_once(self, plan: ConnectionPlan) -> float | None:
        """One connection's life; returns how long the session lasted (None if it never began)."""
        if plan.imap is None:
            await self._check_smtp(plan, raise_failure=True)
            self._connected()
            await asyncio.Event().wait()  # send-only: nothing to hold open, nothing to retry
        assert plan.imap is not None and plan.imap_credentials is not None
        connection = await self.deps.connector.open_imap(plan.imap, plan.imap_credentials)
        started = time.monotonic()
        smtp_check = asyncio.create_task(self._check_smtp(plan, raise_failure=False))
        session = self.deps.make_session(config=self.config, plan=plan, conn=connection, deps=self.deps.session,
                                         on_synced=self._synced)
        self.session = session
        if self._sync_wanted:
            session.sync_requested.set()
            self._sync_wanted = False
        try:
            self.report(AccountState.SYNCING, last_error=None)
            await session.start()
            self._connected()
            await session.watch()
        except Failure as failure:
            # Not connected until the next attempt succeeds: say so and why. No event yet: servers drop idle
            # sessions routinely; connectError is announced if reconnecting fails.
            log.info("account %s: session ended: %s", self.config.id, failure.code)
            self.report(AccountState.CONNECTING, last_error=error_record(failure))
        except StaleGeneration:
            log.info("account %s changed while syncing; waiting for its new worker", self.config.id)
            await asyncio.Event().wait()
        finally:
            self.session = None
            smtp_check.cancel()
            connection.abort()
        return time.monotonic() - started

    def _synced(self) -> None:
        if self.state is AccountState.CONNECTED:
            self.deps.states.report(self.config.id, self.config.generation, sync_time=utcnow())

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
