"""Enhanced fan-out consumer registration against kinesis-mock."""

from __future__ import annotations

import asyncio

import pytest

import aiokinesis
from tests.conftest import create_active_stream

pytestmark = pytest.mark.integration


async def test_register_wait_list_describe_deregister(kinesis: aiokinesis.Client, stream_name: str) -> None:
    arn = await create_active_stream(kinesis, stream_name)
    registered = await kinesis.register_stream_consumer(stream_arn=arn, consumer_name="app-a")
    await kinesis.register_stream_consumer(stream_arn=arn, consumer_name="app-b")
    consumer_arn = registered.consumer.consumer_arn

    active = await kinesis.wait.consumer_active(consumer_arn=consumer_arn, delay=0.05, max_wait=30)
    assert active.consumer_status is aiokinesis.ConsumerStatus.ACTIVE
    by_name = await kinesis.describe_stream_consumer(stream_arn=arn, consumer_name="app-a")
    assert by_name.consumer_description.consumer_arn == consumer_arn

    # kinesis-mock 0.6.2 drops NextToken on the second MaxResults=1 page (a later consumer
    # goes missing) and sends a trailing token after the last page; the paginator's token
    # handling is pinned in tests/unit, and here pages of the default size must end cleanly.
    names = sorted([c.consumer_name async for c in kinesis.paginate.list_stream_consumers(stream_arn=arn)])
    assert names == ["app-a", "app-b"]

    await kinesis.deregister_stream_consumer(consumer_arn=consumer_arn)
    remaining: list[str] = []
    for _ in range(100):
        remaining = [c.consumer_name async for c in kinesis.paginate.list_stream_consumers(stream_arn=arn)]
        if remaining == ["app-b"]:
            break
        await asyncio.sleep(0.05)
    assert remaining == ["app-b"]
