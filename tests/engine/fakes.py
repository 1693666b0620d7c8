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
        self.started = 0
        self.stopped = 0

    def report(self, account_id: str, generation: int, **changes: Any) -> None:
        self.reports.append((account_id, generation, changes))

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
