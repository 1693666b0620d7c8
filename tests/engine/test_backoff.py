"""The reconnect policy: exponential delays with jitter in [ceiling/2, ceiling], capped, and a reset only after
a session that stayed up long enough to count as recovery."""

from __future__ import annotations

import random

import pytest

from mailyard.engine.backoff import Backoff

POLICY = Backoff(base=2.0, cap=300.0, stable_after=60.0)


def ceiling(policy: Backoff, attempt: int) -> float:
    return min(policy.cap, policy.base * 2**attempt)


@pytest.mark.parametrize("attempt", range(12))
def test_delay_stays_between_half_the_ceiling_and_the_ceiling(attempt: int) -> None:
    rand = random.Random(attempt)
    top = ceiling(POLICY, attempt)
    for _ in range(200):
        assert top / 2 <= POLICY.delay(attempt, rand) <= top


def test_delays_grow_exponentially_until_the_cap() -> None:
    rand = random.Random(42)
    delays = [POLICY.delay(attempt, rand) for attempt in range(8)]
    assert 1.0 <= delays[0] <= 2.0
    assert 8.0 <= delays[3] <= 16.0
    assert 128.0 <= delays[7] <= 256.0
    # With jitter over [c/2, c] and c doubling each time, no delay is shorter than the one before.
    assert delays == sorted(delays)
    assert delays[7] > 32 * delays[0]


@pytest.mark.parametrize("attempt", [8, 9, 20, 33, 1000, 10**6])
def test_delay_is_capped_for_any_attempt(attempt: int) -> None:
    rand = random.Random(attempt)
    for _ in range(50):
        assert POLICY.cap / 2 <= POLICY.delay(attempt, rand) <= POLICY.cap


def test_delay_is_jittered() -> None:
    rand = random.Random(7)
    assert len({POLICY.delay(5, rand) for _ in range(20)}) == 20


def test_same_seed_gives_the_same_delays() -> None:
    first, second = random.Random(1234), random.Random(1234)
    assert [POLICY.delay(n, first) for n in range(10)] == [POLICY.delay(n, second) for n in range(10)]


def test_delay_without_a_random_source_stays_in_bounds() -> None:
    for _ in range(50):
        assert 4.0 <= POLICY.delay(2) <= 8.0


def test_small_policy_values_scale_the_same_way() -> None:
    policy = Backoff(base=0.01, cap=0.05, stable_after=1.0)
    rand = random.Random(3)
    assert 0.005 <= policy.delay(0, rand) <= 0.01
    assert 0.02 <= policy.delay(2, rand) <= 0.04
    assert 0.025 <= policy.delay(3, rand) <= 0.05


def test_failure_before_connecting_counts_as_another_attempt() -> None:
    assert POLICY.next_attempt(0, None) == 1
    assert POLICY.next_attempt(4, None) == 5


def test_session_that_drops_soon_after_connecting_does_not_reset_the_backoff() -> None:
    assert POLICY.next_attempt(3, 0.0) == 4
    assert POLICY.next_attempt(3, 59.9) == 4


def test_session_that_lasted_stable_after_resets_the_backoff() -> None:
    assert POLICY.next_attempt(6, 60.0) == 0
    assert POLICY.next_attempt(6, 3600.0) == 0


def test_flapping_server_keeps_growing_the_delay() -> None:
    rand = random.Random(0)
    attempt = 0
    delays: list[float] = []
    for _ in range(6):
        attempt = POLICY.next_attempt(attempt, session_seconds=1.5)
        delays.append(POLICY.delay(attempt, rand))
    assert attempt == 6
    assert delays == sorted(delays)
    assert delays[-1] >= ceiling(POLICY, 6) / 2
