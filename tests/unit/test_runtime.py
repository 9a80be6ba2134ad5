"""Runtime: the one backoff formula, and timed waits that go through the injected sleep."""

from __future__ import annotations

import asyncio

import pytest

from aiokinesis._runtime import Runtime
from tests.fakes import FakeTime, VirtualTime


def test_backoff_is_full_jitter_capped() -> None:
    runtime = Runtime(rand=lambda: 0.5)
    assert [runtime.backoff(0.1, n, 1.0) for n in (1, 2, 3, 4, 5)] == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.5])
    assert Runtime(rand=lambda: 0.0).backoff(1.0, 3, 20.0) == 0.0


def test_backoff_after_thousands_of_failures_stays_at_the_cap() -> None:
    # 2.0 ** 1100 overflows a float: a reader throttled for hours must not crash on its backoff.
    assert Runtime(rand=lambda: 1.0).backoff(0.002, 5000, 30.0) == 30.0


async def test_wait_returns_when_the_event_is_set() -> None:
    virtual = VirtualTime()
    runtime = Runtime(clock=virtual.clock, sleep=virtual.sleep)
    event = asyncio.Event()
    waiting = asyncio.create_task(runtime.wait(event, 10.0))
    await asyncio.sleep(0)
    assert not waiting.done()
    event.set()
    await waiting
    assert virtual.now == VirtualTime().now  # no time passed


async def test_wait_times_out_through_the_injected_sleep() -> None:
    fake = FakeTime()
    runtime = Runtime(clock=fake.clock, sleep=fake.sleep)
    await runtime.wait(asyncio.Event(), 2.5)  # FakeTime sleeps at once: no wall time
    assert fake.sleeps == [2.5]
