"""Webhook delivery from the outbox: signed POSTs, retried with backoff, in order per account.

One dispatcher task per process finds accounts whose *head* event (their oldest pending one) is due and
drains each account in its own task, at most `options.parallel` accounts at a time. Within an account events
go strictly in id order: while the head fails, it is retried with exponential backoff and jitter (from
`retry_base`, capped at `retry_cap`) and everything behind it waits; once `retry_window_hours` have passed
since the head was created, it becomes `failed` and the account moves on. A 2xx answer makes an event
`delivered`; an event that no webhook applies to when it comes due (webhooks disabled, filtered out by
`webhookEvents`, no URL) becomes `skipped`. The target is the account's own `webhooks` URL, else the global one.

Delivery is at least once: an event whose POST succeeded but whose status write did not (crash, stop) is
sent again, with the same `eventId` (also in the `X-EE-Wh-Event-Id` header), which receivers de-duplicate on.

`wake()` (called after events are committed) makes the dispatcher look at once; otherwise it polls every
`poll_interval` seconds, which picks up events written by other processes. Finished events older than
`retention_days` are pruned every `prune_interval` seconds.

Only a backed-off head ever has `next_attempt_at` in the future, so "due heads" is one query (`_claim`).
Today one dispatcher runs per store. For several dispatchers on PostgreSQL, `_claim` is the one place to
change: select the due head rows `FOR UPDATE SKIP LOCKED` and push their `next_attempt_at` forward by a
lease in the same transaction, so other dispatchers pass over those accounts while this one drains them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, func, select, update

from mailyard.accounts.records import AccountRecord
from mailyard.engine.backoff import Backoff
from mailyard.events import payload
from mailyard.events.records import DELIVERED, FAILED, PENDING, SKIPPED, EventRecord
from mailyard.events.settings import SettingsService, WebhookSettings
from mailyard.store.base import utcnow
from mailyard.store.db import Database

log = logging.getLogger(__name__)
_EVENTS = EventRecord.__table__
_PRUNE_CHUNK = 5000


@dataclass(frozen=True)
class DeliveryOptions:
    timeout: float = 10.0
    retry_base: float = 1.0
    retry_cap: float = 3600.0
    retry_window_hours: float = 48.0
    retention_days: float = 7.0
    parallel: int = 32
    poll_interval: float = 1.0  # seconds between looks when nothing woke the dispatcher
    batch: int = 100  # events of one account read at a time
    prune_interval: float = 3600.0


# Events of a hosted domain's message route live in the outbox under the account "domain:<name>".
ROUTE_PREFIX = "domain:"


@dataclass(frozen=True)
class Route:
    url: str | None
    secret: str | None


RouteLookup = Callable[[str], Awaitable[Route | None]]


@functools.cache
def _webhook_tls() -> ssl.SSLContext:
    # httpx's own default (certifi's CA bundle), built once: loading the bundle costs ~40 ms per client.
    return httpx.create_ssl_context()


class WebhookDispatcher:
    def __init__(self, db: Database, settings: SettingsService, options: DeliveryOptions,
                 routes: RouteLookup | None = None) -> None:
        self.db = db
        self.settings = settings
        self.routes = routes
        self.options = options
        self.backoff = Backoff(base=options.retry_base, cap=options.retry_cap)
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._client: httpx.AsyncClient | None = None
        self._next_prune = 0.0
        self._stopping = False

    # -- life cycle ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is not None:
            return
        parallel = max(1, self.options.parallel)
        self._client = httpx.AsyncClient(
            verify=_webhook_tls(), timeout=self.options.timeout, follow_redirects=False,
            limits=httpx.Limits(max_connections=parallel * 2, max_keepalive_connections=parallel),
        )
        self._next_prune = time.monotonic()
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        """Stop at once; an event whose POST was cut short stays pending and is sent again later."""
        if self._task is None:
            return
        self._stopping = True  # ends the loop even if a cancellation were lost
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        drains = list(self._inflight.values())
        for task in drains:
            task.cancel()
        await asyncio.gather(*drains, return_exceptions=True)
        self._task = None
        self._inflight.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        self._wakeup.set()

    @property
    def running(self) -> bool:
        return self._task is not None

    # -- the dispatcher loop ---------------------------------------------------------------------
    async def _run(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            delay = self.options.poll_interval
            try:
                delay = await self._round()
            except Exception as exc:  # a store hiccup must not end delivery; the next round retries
                log.warning("webhook dispatcher round failed: %s", type(exc).__name__)
            if delay > 0:
                # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation that
                # arrives together with the wake-up, and stop() would then wait forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wakeup.wait()

    async def _round(self) -> float:
        """Start a drain for each account with a due head; returns how long to sleep."""
        now = utcnow()
        free = self.options.parallel - len(self._inflight)
        if free > 0:
            accounts = await self._claim(now, free)
            if accounts and not (await self.settings.webhook_settings()).webhooks_enabled:
                await self._skip_all_due(now)  # one statement instead of one per account
                accounts = await self._claim(now, free)
            for account in accounts:
                self._inflight[account] = asyncio.get_running_loop().create_task(
                    self._drain(account), name=f"webhooks:{account}")
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + self.options.prune_interval
            await self.prune()
        soonest = await self.db.read_scalar(
            select(func.min(_EVENTS.c.next_attempt_at)).where(_EVENTS.c.status == PENDING,
                                                              _EVENTS.c.next_attempt_at > now))
        if soonest is None:
            return self.options.poll_interval
        return min(self.options.poll_interval, max(0.0, (soonest - utcnow()).total_seconds()) + 0.005)

    async def _claim(self, now: datetime, limit: int) -> list[str]:
        """Accounts whose head event is due, oldest head first, leaving out those being drained."""
        heads = select(func.min(_EVENTS.c.id)).where(_EVENTS.c.status == PENDING).group_by(_EVENTS.c.account)
        conditions: list[Any] = [_EVENTS.c.id.in_(heads), _EVENTS.c.next_attempt_at <= now]
        if self._inflight:
            conditions.append(_EVENTS.c.account.not_in(list(self._inflight)))
        rows = await self.db.read(select(_EVENTS.c.account).where(*conditions).order_by(_EVENTS.c.id).limit(limit))
        return [row.account for row in rows]

    async def _skip_all_due(self, now: datetime) -> None:
        """Webhooks are off: every due event of an account that is not waiting on a retry is skipped."""
        waiting = select(_EVENTS.c.account).where(_EVENTS.c.status == PENDING, _EVENTS.c.next_attempt_at > now)
        conditions: list[Any] = [_EVENTS.c.status == PENDING, _EVENTS.c.next_attempt_at <= now,
                                 _EVENTS.c.account.not_in(waiting), _EVENTS.c.account.not_like(f"{ROUTE_PREFIX}%")]
        if self._inflight:
            conditions.append(_EVENTS.c.account.not_in(list(self._inflight)))
        async with self.db.transaction() as session:
            await session.execute(update(_EVENTS).where(*conditions).values(status=SKIPPED))

    async def prune(self) -> int:
        """Delete finished events older than the retention period, in chunks; returns how many."""
        cutoff = utcnow() - timedelta(days=self.options.retention_days)
        total = 0
        while True:
            chunk = select(_EVENTS.c.id).where(_EVENTS.c.status.in_((DELIVERED, SKIPPED, FAILED)),
                                               _EVENTS.c.created_at < cutoff).limit(_PRUNE_CHUNK)
            async with self.db.transaction() as session:
                result = await session.execute(delete(_EVENTS).where(_EVENTS.c.id.in_(chunk)))
            count = result.rowcount or 0  # type: ignore[attr-defined]
            total += count
            if count < _PRUNE_CHUNK:
                return total

    # -- one account -----------------------------------------------------------------------------
    async def _drain(self, account: str) -> None:
        """Deliver the account's due events in order until none is left or the head must wait."""
        try:
            while True:
                rows = await self.db.read(select(_EVENTS).where(
                    _EVENTS.c.status == PENDING, _EVENTS.c.account == account,
                ).order_by(_EVENTS.c.id).limit(self.options.batch))
                if not rows or rows[0].next_attempt_at > utcnow():
                    return
                route = await self._route(account)
                override = None if route else await self.db.read_scalar(
                    select(AccountRecord.webhooks).where(AccountRecord.id == account))
                skipped: list[int] = []
                for row in rows:
                    settings = await self.settings.webhook_settings()
                    if route is not None:
                        url, settings = route.url, replace(settings, service_secret=route.secret)
                    else:
                        url = payload.target(settings, override, row.event)
                    if url is None:
                        skipped.append(row.id)
                        continue
                    await self._finish(skipped, status=SKIPPED)
                    skipped = []
                    if not await self._deliver(row, url, settings):
                        return
                await self._finish(skipped, status=SKIPPED)
                if len(rows) < self.options.batch:
                    return
        except Exception as exc:
            log.warning("webhook delivery for account %s stopped: %s", account, type(exc).__name__)
            await asyncio.sleep(self.options.poll_interval)  # keep a persistent error from spinning
        finally:
            self._inflight.pop(account, None)
            self._wakeup.set()

    async def _route(self, account: str) -> Route | None:
        """A hosted domain's own webhook (webhook_then_store): its URL and secret, whatever the global settings.
        A domain whose route is gone gets an empty URL, so its events are skipped, not retried."""
        if self.routes is None or not account.startswith(ROUTE_PREFIX):
            return None
        return await self.routes(account.removeprefix(ROUTE_PREFIX)) or Route(None, None)

    async def _deliver(self, row: Any, url: str, settings: WebhookSettings) -> bool:
        """POST one event; False when it failed and was scheduled for a retry (the account must wait)."""
        assert self._client is not None
        content, headers = payload.request(row, settings)
        error: str | None
        try:
            async with asyncio.timeout(self.options.timeout):  # a total cap: httpx's is per read
                response = await self._client.post(url, content=content, headers=headers)
            error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        except Exception as exc:  # timeouts, refused connections, bad URLs: all retried the same way
            error = payload.failure(exc, self.options.timeout)
        now = utcnow()
        if error is None:
            await self._finish([row.id], status=DELIVERED, delivered_at=now, attempts=row.attempts + 1)
            return True
        attempts = row.attempts + 1
        deadline = row.created_at + timedelta(hours=self.options.retry_window_hours)
        if now >= deadline:
            log.warning("webhook event %s of account %s failed after %d attempts: %s",
                        row.event_id, row.account, attempts, error)
            await self._finish([row.id], status=FAILED, attempts=attempts, last_error=error)
            return True
        retry_at = min(now + timedelta(seconds=self.backoff.delay(attempts - 1)), deadline)
        log.info("webhook event %s of account %s: %s; retry %d at %s",
                 row.event_id, row.account, error, attempts, payload.iso(retry_at))
        await self._finish([row.id], attempts=attempts, last_error=error, next_attempt_at=retry_at)
        return False

    async def _finish(self, ids: list[int], **values: Any) -> None:
        """Write an outcome to pending events (an event another writer already settled is left alone)."""
        if not ids:
            return
        async with self.db.transaction() as session:
            await session.execute(
                update(_EVENTS).where(_EVENTS.c.id.in_(ids), _EVENTS.c.status == PENDING).values(**values))
