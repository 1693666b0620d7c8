"""Webhook delivery from the outbox, against a real HTTP receiver on 127.0.0.1: signed EmailEngine payloads,
strict order per account, retries with backoff while the receiver fails, accounts independent of each other,
account URLs over the global one, skipped and failed events, and pruning."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from mailyard.accounts.records import AccountRecord
from mailyard.events import payload
from mailyard.events.delivery import DeliveryOptions, WebhookDispatcher
from mailyard.events.outbox import NewEvent, write_events
from mailyard.events.records import EventRecord
from mailyard.events.signing import verify
from mailyard.events.types import EventType
from mailyard.runtime import Runtime
from mailyard.store.db import Database
from tests.support.app import ApiFactory
from tests.support.webhooks import Receiver

# -- helpers ----------------------------------------------------------------------------------------------

StartDispatcher = Callable[..., WebhookDispatcher]


@pytest.fixture
async def start_dispatcher(runtime: Runtime) -> AsyncIterator[StartDispatcher]:
    """Start a dispatcher on the test's store with fast retries (options overridable); stopped after the test."""
    started: list[WebhookDispatcher] = []

    def start(**options: Any) -> WebhookDispatcher:
        merged = {"timeout": 2.0, "retry_base": 0.05, "retry_cap": 0.2, **options}
        dispatcher = WebhookDispatcher(runtime.db, runtime.settings_store, DeliveryOptions(**merged))
        dispatcher.start()
        started.append(dispatcher)
        runtime.webhooks = dispatcher  # so `runtime.events_written()` wakes it, as in the app
        return dispatcher

    yield start
    for dispatcher in started:
        await dispatcher.stop()


async def add_account(db: Database, account_id: str, webhooks: str | None = None) -> None:
    async with db.transaction() as session:
        session.add(AccountRecord(id=account_id, search=account_id, state="disconnected", disabled=True,
                                  webhooks=webhooks, counters={}))


async def emit(runtime: Runtime, account_id: str, *events: EventType | NewEvent, wake: bool = True) -> list[str]:
    news = [e if isinstance(e, NewEvent) else NewEvent(e, {"n": i}) for i, e in enumerate(events)]
    async with runtime.db.transaction() as session:
        ids = await write_events(session, account_id, news)
    if wake:
        runtime.events_written()
    return ids


async def rows(db: Database, event_ids: list[str]) -> list[Any]:
    by_id = {r.event_id: r for r in await db.read(select(EventRecord.__table__).where(
        EventRecord.event_id.in_(event_ids)))}
    return [by_id[i] for i in event_ids]


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def statuses_become(db: Database, event_ids: list[str], *expected: str, timeout: float = 10.0) -> list[Any]:
    async def settled() -> bool:
        return [r.status for r in await rows(db, event_ids)] == list(expected)

    try:
        await eventually(settled, timeout)
    except AssertionError:
        raise AssertionError(f"statuses {[r.status for r in await rows(db, event_ids)]} != {list(expected)}") from None
    return await rows(db, event_ids)


async def enable(runtime: Runtime, receiver: Receiver, **extra: Any) -> None:
    await runtime.settings_store.update({"webhooksEnabled": True, "webhooks": receiver.url("/global"), **extra})


# -- payload ------------------------------------------------------------------------------------------------

async def test_event_is_posted_as_signed_emailengine_json(
        runtime: Runtime, receiver: Receiver, start_dispatcher: StartDispatcher) -> None:
    await enable(runtime, receiver, serviceSecret="hook-secret", serviceUrl="https://mail.example.com")
    await add_account(runtime.db, "acc1")
    dispatcher = start_dispatcher()
    ids = await emit(runtime, "acc1", NewEvent(EventType.MESSAGE_NEW, {"id": "AAAA", "subject": "Hi ✓"},
                                                path="INBOX", special_use="\\Inbox"))
    dispatcher.wake()
    [row] = await statuses_become(runtime.db, ids, "delivered")
    [request] = receiver.requests
    assert request.path == "/global"
    assert request.json == {
        "serviceUrl": "https://mail.example.com", "account": "acc1", "date": payload.iso(row.created_at),
        "path": "INBOX", "specialUse": "\\Inbox", "event": "messageNew", "eventId": ids[0],
        "data": {"id": "AAAA", "subject": "Hi ✓"},
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", request.json["date"])
    assert request.headers["content-type"] == "application/json"
    assert "Mailyard" in request.headers["user-agent"]
    assert request.headers["x-ee-wh-event-id"] == ids[0]
    assert verify(request.body, request.headers["x-ee-wh-signature"], "hook-secret")
    assert not verify(request.body, request.headers["x-ee-wh-signature"], "another-secret")
    assert row.delivered_at is not None and row.attempts == 1


async def test_account_events_leave_out_path_and_no_secret_means_no_signature(
        runtime: Runtime, receiver: Receiver, start_dispatcher: StartDispatcher) -> None:
    await enable(runtime, receiver)
    await add_account(runtime.db, "acc1")
    start_dispatcher()
    ids = await emit(runtime, "acc1", NewEvent(EventType.ACCOUNT_ADDED, {"account": "acc1"}))
    await statuses_become(runtime.db, ids, "delivered")
    [request] = receiver.requests
    assert set(request.json) == {"serviceUrl", "account", "date", "event", "eventId", "data"}
    assert "x-ee-wh-signature" not in request.headers


def test_iso_dates_are_utc_with_milliseconds() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert payload.iso(moment) == "2026-01-02T03:04:05.678Z"
    assert payload.iso(moment.astimezone(tz=None)) == "2026-01-02T03:04:05.678Z"


# -- order and retries ------------------------------------------------------------------------------------

async def test_events_of_one_account_arrive_in_the_order_they_were_written(
        runtime: Runtime, receiver: Receiver, start_dispatcher: StartDispatcher) -> None:
    await enable(runtime, receiver)
    await add_account(runtime.db, "acc1")
    dispatcher = start_dispatcher()
    ids: list[str] = []
    for _ in range(6):
        ids += await emit(runtime, "acc1", *[EventType.MESSAGE_NEW] * 5)
        dispatcher.wake()
    await statuses_become(runtime.db, ids, *["delivered"] * 30)
    assert [r.event_id for r in receiver.requests] == ids


async def test_failing_head_holds_back_its_account_and_order_is_kept(
        runtime: Runtime, receiver: Receiver, start_dispatcher: StartDispatcher) -> None:
    await enable(runtime, receiver)
    await add_account(runtime.db, "acc1")
    receiver.fail_next = 3
    dispatcher = start_dispatcher()
    ids = await emit(runtime, "acc1", *[EventType.MESSAGE_NEW] * 5)
    dispatcher.wake()
    head, *_ = await statuses_become(runtime.db, ids, *["delivered"] * 5)
    assert [r.event_id for r in receiver.requests] == [ids[0]] * 4 + ids[1:]
    assert [r.status for r in receiver.requests[:4]] == [500, 500, 500, 200]
    assert head.attempts == 4 and head.last_error == "HTTP 500"


async def test_failed_attempt_is_retried_with_growing_backoff(
        runtime: Runtime, receiver: Receiver, start_dispatcher: StartDispatcher) -> None:
    await enable(runtime, receiver)
    await add_account(runtime.db, "acc1")
    receiver.fail_paths.add("/global")
    start_dispatcher(retry_base=0.1, retry_cap=10.0)
    ids = await emit(runtime, "acc1", EventType.MESSAGE_NEW)
    started = time.monotonic()
    await eventually(lambda: _count_at_least(receiver, 4))
    # delays of at least 0.05, 0.1 and 0.2 s (jitter keeps each in [half, full] of 0.1 * 2^n)
    assert time.monotonic() - started >= 0.35
    [row] = await rows(runtime.db, ids)
    assert row.status == "pending" and row.attempts >= 3 and row.last_error == "HTTP 500"


async def _count_at_least(receiver: Receiver, count: int) -> bool:
    return len(receiver.requests) >= count


async def test_failing_account_does_not_block_another_account(
        runtime: Runtime, receiver: Receiver, start_dispatcher: StartDispatcher) -> None:
    await enable(runtime, receiver)
    await add_account(runtime.db, "broken", webhooks=receiver.url("/fails"))
    await add_account(runtime.db, "healthy")
    receiver.fail_paths.add("/fails")
    dispatcher = start_dispatcher()
    stuck = await emit(runtime, "broken", *[EventType.MESSAGE_NEW] * 3)
    flowing = await emit(runtime, "healthy", *[EventType.MESSAGE_NEW] * 3)
    dispatcher.wake()
    await statuses_become(runtime.db, flowing, "delivered", "delivered", "delivered")
    head, *behind = await rows(runtime.db, stuck)
    assert head.status == "pending" and head.attempts >= 1 and head.last_error == "HTTP 500"
    assert [(r.status, r.attempts) for r in behind] == [("pending", 0), ("pending", 0)]
    assert {r.event_id for r in receiver.requests if r.path == "/fails"} == {stuck[0]}


async def test_receiver_down_queues_events_and_all_arrive_once_when_it_is_back(
        api_factory: ApiFactory, receiver: Receiver) -> None:
    api = await api_factory(webhook_retry_base=0.05, webhook_retry_cap=0.5)
    response = await api.post("/v1/settings", {"webhooksEnabled": True, "webhooks": receiver.url(),
                                                "serviceSecret": "k"})
    assert response.status_code == 200
    await receiver.down()
    accounts = [f"acc{n}" for n in range(4)]
    for account in accounts:
        assert (await api.post("/v1/account", {"account": account, "email": f"{account}@example.com",
                                               "imap": {"disabled": True}, "disabled": True})).status_code == 200
    written: dict[str, list[str]] = {a: [] for a in accounts}
    for n in range(100):
        account = accounts[n % 4]
        written[account] += await emit(api.runtime, account, EventType.MESSAGE_NEW)
    every = [i for ids in written.values() for i in ids]

    async def all_heads_tried() -> bool:  # each account's head (its accountAdded) was tried twice
        heads = [await api.runtime.db.read_one(select(EventRecord.attempts).where(EventRecord.account == a)
                                               .order_by(EventRecord.id).limit(1)) for a in accounts]
        return all(h is not None and h.attempts >= 2 for h in heads)

    await eventually(all_heads_tried)
    assert receiver.requests == []
    tried = await rows(api.runtime.db, every)
    assert all(r.status == "pending" for r in tried)
    assert all("ECONNREFUSED" in (r.last_error or "") for r in tried if r.attempts)

    await receiver.up()
    await statuses_become(api.runtime.db, every, *["delivered"] * 100, timeout=15)
    got = [r for r in receiver.requests if r.json["event"] == "messageNew"]
    assert sorted(r.event_id for r in got) == sorted(every)  # each exactly once
    for account, ids in written.items():
        assert [r.event_id for r in got if r.json["account"] == account] == ids
    assert all(verify(r.body, r.headers["x-ee-wh-signature"], "k") for r in receiver.requests)


async def test_timeout_counts_as_a_failure_and_is_retried(
        runtime: Runtime, receiver: Receiver, start_dispatcher: StartDispatcher) -> None:
    await enable(runtime, receiver)
    await add_account(runtime.db, "acc1")
    receiver.hang_next = 1
    start_dispatcher(timeout=0.3)
    ids = await emit(runtime, "acc1", EventType.MESSAGE_NEW)
    [row] = await statuses_become(runtime.db, ids, "delivered")
    assert row.attempts == 2 and row.last_error == "ETIMEDOUT: no answer within 0.3s"


async def test_last_error_never_contains_url_credentials(
        runtime: Runtime, receiver: Receiver, start_dispatcher: StartDispatcher) -> None:
    url = receiver.url("/auth").replace("http://", "http://hookuser:pw-in-url@")
    await runtime.settings_store.update({"webhooksEnabled": True, "webhooks": url})
    await add_account(runtime.db, "acc1")
    receiver.fail_next = 1
    start_dispatcher()
    ids = await emit(runtime, "acc1", EventType.MESSAGE_NEW)
    [row] = await statuses_become(runtime.db, ids, "delivered")
    assert row.last_error == "HTTP 500"
    assert receiver.requests[-1].headers["authorization"].startswith("Basic ")  # credentials go as basic auth
    await receiver.down()
    more = await emit(runtime, "acc1", EventType.MESSAGE_NEW)

    async def tried() -> bool:
        return (await rows(runtime.db, more))[0].attempts >= 1

    await eventually(tried)
    [row] = await rows(runtime.db, more)
    assert "pw-in-url" not in row.last_error and "127.0.0.1" not in row.last_error


async def test_head_failing_past_the_retry_window_is_failed_and_the_account_moves_on(
        runtime: Runtime, receiver: Receiver, start_dispatcher: StartDispatcher) -> None:
    await enable(runtime, receiver)
    await add_account(runtime.db, "acc1")
    ids = await emit(runtime, "acc1", EventType.MESSAGE_NEW, EventType.MESSAGE_DELETED)
    async with runtime.db.transaction() as session:  # created 49 hours ago: the 48-hour window is over
        await session.execute(update(EventRecord).where(EventRecord.event_id == ids[0])
                              .values(created_at=datetime.now(UTC) - timedelta(hours=49)))
    receiver.fail_events.add(ids[0])
    start_dispatcher(retry_window_hours=48)
    failed, _ = await statuses_become(runtime.db, ids, "failed", "delivered")
    assert failed.attempts == 1 and failed.last_error == "HTTP 500"
    assert [r.event_id for r in receiver.delivered] == [ids[1]]


async def test_retries_go_on_until_the_window_ends(
        runtime: Runtime, receiver: Receiver, start_dispatcher: StartDispatcher) -> None:
    await enable(runtime, receiver)
    await add_account(runtime.db, "acc1")
    ids = await emit(runtime, "acc1", EventType.MESSAGE_NEW, EventType.MESSAGE_DELETED)
    receiver.fail_events.add(ids[0])
    start_dispatcher(retry_window_hours=0.5 / 3600, retry_base=0.05, retry_cap=0.1)  # a half-second window
    failed, _ = await statuses_become(runtime.db, ids, "failed", "delivered")
    assert failed.attempts >= 3
    assert [r.event_id for r in receiver.requests].count(ids[0]) == failed.attempts


# -- targets, skipping ---------------------------------------------------------------------------------------

async def test_account_webhooks_url_overrides_the_global_one(
        runtime: Runtime, receiver: Receiver, start_dispatcher: StartDispatcher) -> None:
    await enable(runtime, receiver)
    await add_account(runtime.db, "own", webhooks=receiver.url("/own"))
    await add_account(runtime.db, "plain")
    start_dispatcher()
    own = await emit(runtime, "own", EventType.MESSAGE_NEW)
    plain = await emit(runtime, "plain", EventType.MESSAGE_NEW)
    await statuses_become(runtime.db, own + plain, "delivered", "delivered")
    assert {r.event_id: r.path for r in receiver.requests} == {own[0]: "/own", plain[0]: "/global"}


async def test_disabled_webhooks_skip_every_event_and_send_nothing(
        runtime: Runtime, receiver: Receiver, start_dispatcher: StartDispatcher) -> None:
    await runtime.settings_store.update({"webhooksEnabled": False, "webhooks": receiver.url()})
    for n in range(5):
        await add_account(runtime.db, f"acc{n}", webhooks=receiver.url("/own"))
    ids = [i for n in range(5) for i in await emit(runtime, f"acc{n}", EventType.MESSAGE_NEW, EventType.MESSAGE_SENT)]
    start_dispatcher()
    await statuses_become(runtime.db, ids, *["skipped"] * 10)
    assert receiver.requests == []


async def test_events_filtered_out_by_webhook_events_are_skipped_in_order(
        runtime: Runtime, receiver: Receiver, start_dispatcher: StartDispatcher) -> None:
    await enable(runtime, receiver, webhookEvents=["messageNew"])
    await add_account(runtime.db, "acc1")
    start_dispatcher()
    ids = await emit(runtime, "acc1", EventType.ACCOUNT_ADDED, EventType.MESSAGE_NEW, EventType.MESSAGE_DELETED,
                     EventType.MESSAGE_NEW)
    await statuses_become(runtime.db, ids, "skipped", "delivered", "skipped", "delivered")
    assert [r.event_id for r in receiver.requests] == [ids[1], ids[3]]


async def test_event_with_no_webhook_url_anywhere_is_skipped(
        runtime: Runtime, receiver: Receiver, start_dispatcher: StartDispatcher) -> None:
    await runtime.settings_store.update({"webhooksEnabled": True})
    await add_account(runtime.db, "nourl")
    await add_account(runtime.db, "withurl", webhooks=receiver.url("/own"))
    start_dispatcher()
    skipped = await emit(runtime, "nourl", EventType.MESSAGE_NEW)
    sent = await emit(runtime, "withurl", EventType.MESSAGE_NEW)
    await statuses_become(runtime.db, skipped + sent, "skipped", "delivered")


async def test_events_of_a_deleted_account_still_go_to_the_global_url(
        runtime: Runtime, receiver: Receiver, start_dispatcher: StartDispatcher) -> None:
    await enable(runtime, receiver)
    ids = await emit(runtime, "gone", NewEvent(EventType.ACCOUNT_DELETED, {"account": "gone"}))
    start_dispatcher()
    await statuses_become(runtime.db, ids, "delivered")
    assert receiver.requests[0].json["event"] == "accountDeleted"


# -- waking, polling, pruning ---------------------------------------------------------------------------------

async def test_wake_delivers_without_waiting_for_the_poll(
        runtime: Runtime, receiver: Receiver, start_dispatcher: StartDispatcher) -> None:
    await enable(runtime, receiver)
    await add_account(runtime.db, "acc1")
    dispatcher = start_dispatcher(poll_interval=30.0)
    await asyncio.sleep(0.05)  # let it go idle
    await emit(runtime, "acc1", EventType.MESSAGE_NEW)
    dispatcher.wake()
    # Only the wake can deliver it this soon: the next poll is 30 s away.
    await eventually(lambda: _count_at_least(receiver, 1), timeout=10)


async def test_events_written_elsewhere_are_found_by_polling(
        runtime: Runtime, receiver: Receiver, start_dispatcher: StartDispatcher) -> None:
    await enable(runtime, receiver)
    await add_account(runtime.db, "acc1")
    start_dispatcher(poll_interval=0.2)
    await asyncio.sleep(0.05)
    ids = await emit(runtime, "acc1", EventType.MESSAGE_NEW, wake=False)  # nobody wakes this dispatcher
    await statuses_become(runtime.db, ids, "delivered", timeout=2)


async def test_stop_leaves_undelivered_events_pending_for_the_next_start(
        runtime: Runtime, receiver: Receiver, start_dispatcher: StartDispatcher) -> None:
    await enable(runtime, receiver)
    await add_account(runtime.db, "acc1")
    receiver.hang_next = 1
    first = start_dispatcher()
    ids = await emit(runtime, "acc1", EventType.MESSAGE_NEW)
    first.wake()
    await eventually(lambda: _hung(receiver))
    await first.stop()
    assert [r.status for r in await rows(runtime.db, ids)] == ["pending"]
    start_dispatcher()
    await statuses_become(runtime.db, ids, "delivered")


async def test_stop_returns_promptly_even_when_woken_while_stopping(
        runtime: Runtime, receiver: Receiver, start_dispatcher: StartDispatcher) -> None:
    await enable(runtime, receiver)
    await add_account(runtime.db, "acc1")
    for _ in range(20):
        dispatcher = start_dispatcher()
        await asyncio.sleep(0)
        receiver.hang_next = 1
        await emit(runtime, "acc1", EventType.MESSAGE_NEW)
        await eventually(lambda: _hung(receiver))  # a drain is in flight; cancelling it wakes the loop
        dispatcher.wake()
        await asyncio.wait_for(dispatcher.stop(), 2)
        assert not dispatcher.running


async def _hung(receiver: Receiver) -> bool:
    return receiver.hang_next == 0


async def test_prune_deletes_only_finished_events_past_retention(runtime: Runtime) -> None:
    await add_account(runtime.db, "acc1")
    ids = await emit(runtime, "acc1", *[EventType.MESSAGE_NEW] * 6, wake=False)
    old = datetime.now(UTC) - timedelta(days=8)
    plan = [("delivered", old), ("skipped", old), ("failed", old), ("pending", old), ("delivered", None),
            ("failed", None)]
    async with runtime.db.transaction() as session:
        for event_id, (status, created) in zip(ids, plan, strict=True):
            values: dict[str, Any] = {"status": status}
            if created is not None:
                values["created_at"] = created
            await session.execute(update(EventRecord).where(EventRecord.event_id == event_id).values(**values))
    dispatcher = WebhookDispatcher(runtime.db, runtime.settings_store, DeliveryOptions(retention_days=7))
    assert await dispatcher.prune() == 3
    left = await runtime.db.read(select(EventRecord.event_id).order_by(EventRecord.id))
    assert [r.event_id for r in left] == ids[3:]
