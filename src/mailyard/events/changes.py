"""The change feed behind `GET /v1/changes`: account state changes fanned out to subscribers.

`publish()` never blocks and never fails: each subscriber has a bounded buffer, and a subscriber that does
not keep up loses its oldest changes (counted in `dropped`) instead of slowing the publisher. The feed is
in-process: it carries what this process's engine publishes.

    with runtime.changes.subscribe() as subscription:
        async for change in subscription:
            ...
        # or: change = await subscription.get(max_wait=15)   (None on timeout)
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any


class Subscription:
    """One subscriber's bounded queue of changes; use as a context manager so it is removed when done."""

    def __init__(self, feed: ChangeFeed, buffer: int) -> None:
        self._feed = feed
        self._items: deque[dict[str, Any]] = deque(maxlen=buffer)
        self._ready = asyncio.Event()
        self.dropped = 0
        self.closed = False

    def _put(self, change: dict[str, Any]) -> None:
        if len(self._items) == self._items.maxlen:
            self.dropped += 1  # the deque drops the oldest item itself
        self._items.append(change)
        self._ready.set()

    async def get(self, max_wait: float | None = None) -> dict[str, Any] | None:
        """The next change; None when `max_wait` seconds pass first or the subscription is closed."""
        while not self._items:
            if self.closed:
                return None
            self._ready.clear()
            try:
                async with asyncio.timeout(max_wait):  # not wait_for: on 3.11 it can swallow a cancellation
                    await self._ready.wait()
            except TimeoutError:
                return None
        return self._items.popleft()

    def pending(self) -> int:
        return len(self._items)

    def close(self) -> None:
        self.closed = True
        self._feed._subscribers.discard(self)
        self._ready.set()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            change = await self.get()
            if change is None:
                return
            yield change


class ChangeFeed:
    def __init__(self, buffer: int = 1000) -> None:
        self.buffer = buffer
        self._subscribers: set[Subscription] = set()

    def publish(self, change: dict[str, Any]) -> None:
        """Hand the change to every subscriber (call from the event loop's thread)."""
        for subscription in tuple(self._subscribers):
            subscription._put(change)

    def subscribe(self, buffer: int | None = None) -> Subscription:
        subscription = Subscription(self, buffer or self.buffer)
        self._subscribers.add(subscription)
        return subscription

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def close(self) -> None:
        """End every subscription (their iterators stop once their buffers are read)."""
        for subscription in tuple(self._subscribers):
            subscription.close()
