"""Reconnect delays: exponential with jitter, capped. Pure, so the policy is unit-tested on its own."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base: float = 2.0
    cap: float = 300.0
    # A session shorter than this does not count as recovery, so a server that accepts and then drops
    # the connection keeps growing the delay instead of being hammered at the base rate.
    stable_after: float = 60.0

    def delay(self, attempt: int, rand: random.Random | None = None) -> float:
        """Delay before retry number `attempt` (0-based): full jitter over [ceiling/2, ceiling]."""
        ceiling = min(self.cap, self.base * (2 ** min(attempt, 32)))
        return ceiling * (0.5 + 0.5 * (rand or random).random())

    def next_attempt(self, attempt: int, session_seconds: float | None) -> int:
        """The attempt counter after a session that lasted `session_seconds` (None: never connected)."""
        if session_seconds is not None and session_seconds >= self.stable_after:
            return 0
        return attempt + 1
