"""Fakes shared by the engine's unit tests: an IMAP session and a state sink standing in for StateWriter."""

from __future__ import annotations

import asyncio
from typing import Any

from mailyard.engine.imap_text import ListedFolder


class FakeSession:
    """An IMAP session that stays up until aborted (or is closed by the "server" at once with `drop`)."""

    def __init__(self, host: str = "imap.example.com", *, drop: bool = False) -> None:
        self.host = host
        self.closed = asyncio.Event()
        if drop:
            self.closed.set()
        self.aborted = False
        self.noops = 0

    async def list_folders(self) -> list[ListedFolder]:
        return [ListedFolder("INBOX", "/", frozenset())]

    async def noop(self) -> None:
        self.noops += 1

    async def logout(self) -> None:
        self.closed.set()

    def abort(self) -> None:
        self.aborted = True
        self.closed.set()


class FakeStates:
    """Stands in for StateWriter: records every report."""

    def __init__(self) -> None:
        self.reports: list[tuple[str, int, dict[str, Any]]] = []
        self.events: list[tuple[str, Any]] = []
        self.started = 0
        self.stopped = 0

    def report(self, account_id: str, generation: int, *, events: list[Any] | None = None, **changes: Any) -> None:
        self.reports.append((account_id, generation, changes))
        self.events.extend((account_id, e) for e in events or [])

    def start(self) -> None:
        self.started += 1

    async def stop(self) -> None:
        self.stopped += 1

    def states(self, account_id: str | None = None, generation: int | None = None) -> list[str]:
        """The states reported, in order (optionally only for one account, or one generation of it)."""
        return [c["state"] for a, g, c in self.reports
                if "state" in c and account_id in (None, a) and generation in (None, g)]

    def with_state(self, state: str) -> list[dict[str, Any]]:
        return [changes for _, _, changes in self.reports if changes.get("state") == state]

    def smtp_statuses(self) -> list[dict[str, Any]]:
        return [changes["smtp_status"] for _, _, changes in self.reports if "smtp_status" in changes]


class FakeAccountSession:
    """Stands in for AccountSession: lists the folders on start, then holds the connection with NOOPs at the
    keepalive interval until the server closes it."""

    keepalive = 300.0

    def __init__(self, *, conn: FakeSession, on_synced: Any, **_: Any) -> None:
        self.conn = conn
        self.on_synced = on_synced
        self.sync_requested = asyncio.Event()

    async def start(self) -> None:
        await self.conn.list_folders()
        self.on_synced()

    async def watch(self) -> None:
        from mailyard.engine.failures import Failure, FailureCode

        while not self.conn.closed.is_set():
            try:
                async with asyncio.timeout(self.keepalive):
                    await self.conn.closed.wait()
            except TimeoutError:
                await self.conn.noop()
        raise Failure(FailureCode.CONNECTION_LOST, "connection closed by the server")


def session_factory(keepalive: float = 300.0) -> Any:
    """A `make_session` for WorkerDeps producing FakeAccountSessions with the given keepalive."""

    def make(**kwargs: Any) -> FakeAccountSession:
        session = FakeAccountSession(**kwargs)
        session.keepalive = keepalive
        return session

    return make
