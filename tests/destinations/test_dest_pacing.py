"""Token bucket timing, on an injected clock: no real sleeps."""

from __future__ import annotations

import asyncio

import pytest
from dest_support import FakeTime

from segport.destinations import TokenBucket


async def test_evenly_spaced_at_rate(fake_time: FakeTime) -> None:
    bucket = TokenBucket(5, 1, clock=fake_time.clock, sleep=fake_time.sleep)
    start = fake_time.now
    stamps = []
    for _ in range(11):
        await bucket.acquire()
        stamps.append(round(fake_time.now - start, 6))
    assert stamps == [round(0.2 * i, 6) for i in range(11)]


async def test_burst_then_rate(fake_time: FakeTime) -> None:
    bucket = TokenBucket(5, 5, clock=fake_time.clock, sleep=fake_time.sleep)
    waits = [await bucket.acquire() for _ in range(7)]
    assert waits[:5] == [0, 0, 0, 0, 0]
    assert waits[5] == pytest.approx(0.2) and waits[6] == pytest.approx(0.2)
    assert fake_time.now - 1000.0 == pytest.approx(0.4)


async def test_idle_time_refills_only_up_to_burst(fake_time: FakeTime) -> None:
    bucket = TokenBucket(2, 3, clock=fake_time.clock, sleep=fake_time.sleep)
    for _ in range(3):
        await bucket.acquire()
    fake_time.now += 100  # a long idle period saves at most `burst` tokens
    waits = [await bucket.acquire() for _ in range(4)]
    assert waits == [0, 0, 0, pytest.approx(0.5)]


def test_concurrent_reservations_queue_in_order(fake_time: FakeTime) -> None:
    bucket = TokenBucket(4, 1, clock=fake_time.clock, sleep=fake_time.sleep)
    assert [bucket.reserve() for _ in range(5)] == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])


async def test_pause_holds_every_caller(fake_time: FakeTime) -> None:
    bucket = TokenBucket(5, 5, clock=fake_time.clock, sleep=fake_time.sleep)
    await bucket.acquire()
    bucket.pause_for(3.0)  # a 429 said "come back in 3 s"
    waited = await bucket.acquire()
    assert waited == pytest.approx(3.0)
    assert await bucket.acquire() == pytest.approx(0.2)  # then back to the rate, no burst


async def test_pause_set_while_sleeping_is_honoured(fake_time: FakeTime) -> None:
    bucket = TokenBucket(1, 1, clock=fake_time.clock, sleep=fake_time.sleep)
    await bucket.acquire()
    gate = asyncio.Event()

    async def slow_sleep(seconds: float) -> None:
        gate.set()
        await asyncio.sleep(0)
        fake_time.now += seconds

    bucket._sleep = slow_sleep  # type: ignore[method-assign]
    task = asyncio.create_task(bucket.acquire())
    await gate.wait()
    bucket.pause_until(fake_time.now + 5)
    waited = await task
    assert waited == pytest.approx(5.0)


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0, 1)
    with pytest.raises(ValueError):
        TokenBucket(1, 0.5)
