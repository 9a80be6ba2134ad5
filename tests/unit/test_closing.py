"""Closing a client while it works: every call and stream on it raises ClientClosedError (aioresponses)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
import pytest
from aioresponses import CallbackResult, aioresponses

import aiokinesis
from aiokinesis._closing import closing_task
from aiokinesis._eventstream import encode
from tests.fakes import FakeTime

from .conftest import ANY_URL, make_client

LIMITS = orjson.dumps({"ShardLimit": 1, "OpenShardCount": 0, "OnDemandStreamCount": 0, "OnDemandStreamCountLimit": 1})
CONSUMER = "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1"
EVENT = encode(
    {":message-type": "event", ":event-type": "SubscribeToShardEvent", ":content-type": "application/json"},
    orjson.dumps({"Records": [], "ContinuationSequenceNumber": "1", "MillisBehindLatest": 0}),
)


def sent(http: aioresponses) -> int:
    return sum(len(calls) for calls in http.requests.values())


async def subscribe(kinesis: aiokinesis.Client) -> aiokinesis.SubscribeToShardOutput:
    return await kinesis.subscribe_to_shard(
        consumer_arn=CONSUMER, shard_id="shardId-0", starting_position=aiokinesis.StartingPosition.latest()
    )


async def test_a_retry_waiting_when_the_client_closes_is_not_sent(fake_time: FakeTime, http: aioresponses) -> None:
    async def close_while_waiting(seconds: float) -> None:
        await kinesis.aclose()

    kinesis = make_client(fake_time, sleep=close_while_waiting)
    http.post(ANY_URL, status=500, body=b'{"__type": "InternalFailure"}', repeat=True)
    with pytest.raises(aiokinesis.ClientClosedError, match="while a retry waited") as caught:
        await kinesis.describe_limits()
    assert isinstance(caught.value.__cause__, aiokinesis.ServiceError)
    assert sent(http) == 1


async def test_an_answer_arriving_after_close_is_not_read(fake_time: FakeTime, http: aioresponses) -> None:
    kinesis = make_client(fake_time)

    async def close_then_answer(url: Any, **kwargs: Any) -> CallbackResult:
        await kinesis.aclose()
        return CallbackResult(body=LIMITS)

    http.post(ANY_URL, callback=close_then_answer)
    with pytest.raises(aiokinesis.ClientClosedError):
        await kinesis.describe_limits()


async def test_a_subscription_opened_as_the_client_closes_raises_client_closed(
    fake_time: FakeTime, http: aioresponses
) -> None:
    kinesis = make_client(fake_time)

    async def close_then_answer(url: Any, **kwargs: Any) -> CallbackResult:
        await kinesis.aclose()
        return CallbackResult(body=EVENT, content_type="application/vnd.amazon.eventstream")

    http.post(ANY_URL, callback=close_then_answer)
    with pytest.raises(aiokinesis.ClientClosedError):
        await subscribe(kinesis)


async def test_subscribing_on_a_closed_client_raises_client_closed(fake_time: FakeTime, http: aioresponses) -> None:
    kinesis = make_client(fake_time)
    await kinesis.aclose()
    with pytest.raises(aiokinesis.ClientClosedError):
        await subscribe(kinesis)
    assert sent(http) == 0


async def test_reading_a_subscription_after_close_raises_client_closed(fake_time: FakeTime, http: aioresponses) -> None:
    # Events already received are delivered; the next read meets the closed client, not the stream's end.
    http.post(ANY_URL, body=EVENT + EVENT, content_type="application/vnd.amazon.eventstream")
    async with make_client(fake_time) as kinesis:
        out = await subscribe(kinesis)
        events = out.event_stream
        await anext(events)
        await kinesis.aclose()
        await anext(events)
        with pytest.raises(aiokinesis.ClientClosedError):
            await anext(events)
        with pytest.raises(StopAsyncIteration):  # it was closed with its client (no unclosed warning)
            await anext(events)


async def test_a_closing_task_outlives_its_cancelled_callers_and_logs_its_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The shape both consumers close in: a cancelled waiter stops only its own wait, and a failure
    nobody is left to hear is logged, not left "never retrieved"."""
    gate = asyncio.Event()

    async def close() -> None:
        await gate.wait()
        raise RuntimeError("the table failed")

    task = closing_task(close(), name="aiokinesis-test-close", what="the test's consumer", log=logging.getLogger("t"))

    async def wait() -> None:
        await asyncio.shield(task)  # as aclose() waits

    waiter = asyncio.create_task(wait())
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert waiter.cancelled()
    assert not task.done()
    gate.set()
    with caplog.at_level(logging.ERROR, logger="t"):
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)  # done callbacks run a loop turn later
    assert [r.getMessage() for r in caplog.records] == [
        "closing the test's consumer failed: RuntimeError('the table failed')"
    ]
