"""Reading the event outbox in tests: what the engine announced, waited for with a timeout."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import select

from mailyard.events.records import EventRecord
from tests.support.app import Api


async def events(api: Api, account: str, kind: str | None = None) -> list[Any]:
    query = select(EventRecord.__table__).where(EventRecord.account == account).order_by(EventRecord.id)
    if kind is not None:
        query = query.where(EventRecord.event == kind)
    return list(await api.runtime.db.read(query))


async def wait_events(api: Api, account: str, kind: str, count: int = 1, timeout: float = 10) -> list[Any]:
    """At least `count` events of `kind`; fails with what was seen instead."""
    deadline = time.monotonic() + timeout
    while True:
        found = await events(api, account, kind)
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            seen = [(e.event, e.path) for e in await events(api, account)]
            raise AssertionError(f"expected {count} {kind} event(s) for {account}, got {len(found)}; all: {seen}")
        await asyncio.sleep(0.05)


async def quiet(api: Api, account: str, seconds: float = 0.5) -> list[Any]:
    """All events after the outbox has stayed unchanged for `seconds`."""
    last = -1
    while True:
        found = await events(api, account)
        if len(found) == last:
            return found
        last = len(found)
        await asyncio.sleep(seconds)
