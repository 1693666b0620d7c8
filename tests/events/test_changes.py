"""The change feed: publish never blocks, every subscriber gets every change, a slow one loses its oldest."""

import asyncio

from mailyard.events.changes import ChangeFeed


async def test_every_subscriber_gets_every_change_in_order() -> None:
    feed = ChangeFeed()
    with feed.subscribe() as first, feed.subscribe() as second:
        for n in range(3):
            feed.publish({"account": "a", "n": n})
        for subscription in (first, second):
            assert [(await subscription.get(max_wait=1))["n"] for _ in range(3)] == [0, 1, 2]


async def test_publish_without_subscribers_is_a_no_op() -> None:
    feed = ChangeFeed()
    feed.publish({"account": "a"})
    assert feed.subscribers == 0


async def test_slow_subscriber_drops_its_oldest_changes_instead_of_blocking() -> None:
    feed = ChangeFeed()
    with feed.subscribe(buffer=3) as slow:
        for n in range(5):
            feed.publish({"n": n})
        assert slow.dropped == 2
        assert [(await slow.get(max_wait=1))["n"] for _ in range(3)] == [2, 3, 4]


async def test_waiting_subscriber_wakes_on_publish() -> None:
    feed = ChangeFeed()
    with feed.subscribe() as subscription:
        waiter = asyncio.create_task(subscription.get(max_wait=5))
        await asyncio.sleep(0)
        feed.publish({"account": "a"})
        assert await asyncio.wait_for(waiter, 1) == {"account": "a"}


async def test_get_returns_none_when_nothing_arrives_in_time() -> None:
    feed = ChangeFeed()
    with feed.subscribe() as subscription:
        assert await subscription.get(max_wait=0.01) is None


async def test_leaving_the_context_unsubscribes() -> None:
    feed = ChangeFeed()
    with feed.subscribe():
        assert feed.subscribers == 1
    assert feed.subscribers == 0


async def test_close_ends_iteration_after_buffered_changes() -> None:
    feed = ChangeFeed()
    subscription = feed.subscribe()
    feed.publish({"n": 1})
    feed.close()
    assert [change async for change in subscription] == [{"n": 1}]
    assert feed.subscribers == 0
