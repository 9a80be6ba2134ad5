"""Closing a client with work in flight, against a real local server: ClientClosedError, nothing else.

aiohttp answers a closed pool with RuntimeError("Session is closed") or a dropped connection;
callers, readers, consumers and subscriptions on the client must see ClientClosedError.
The server is aiokinesis.testing's (no kinesis-mock needed); a SLOW fault holds a call open.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

import aiokinesis
from aiokinesis.testing import Fault, FaultKind, KinesisServer, Limits
from tests.conftest import LOCAL_KEYS

SHARD = "shardId-000000000000"
# Long enough that the client is closed while the server holds the answer (the test closes it as
# soon as the request has arrived, without yielding in between); the server's shutdown waits it out.
HOLD = 0.5


@pytest.fixture
async def server() -> AsyncIterator[KinesisServer]:
    async with KinesisServer(streams={"s": 1, "wide": 3}, limits=Limits(enabled=False), seed=3) as local:
        yield local


def client(server: KinesisServer, **options: object) -> aiokinesis.Client:
    return aiokinesis.Client(endpoint_url=server.endpoint_url, **LOCAL_KEYS, **options)  # type: ignore[arg-type]


async def arrived(fault: Fault) -> None:
    """Until the server has the request in hand (bounded: the request is already on its way)."""
    for _ in range(10_000):
        if fault.fired:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the request never reached the server")


async def test_a_call_in_flight_when_the_client_closes_raises_client_closed(server: KinesisServer) -> None:
    fault = server.inject(Fault(kind=FaultKind.SLOW, operation="DescribeStreamSummary", delay=HOLD))
    kinesis = client(server)
    await kinesis.__aenter__()
    call = asyncio.create_task(kinesis.describe_stream_summary(stream_name="s"))
    await arrived(fault)
    await kinesis.aclose()
    with pytest.raises(aiokinesis.ClientClosedError):
        await call
    assert fault.fired == 1  # not retried into the closed pool


async def test_a_shard_reader_on_a_closing_client_raises_client_closed(server: KinesisServer) -> None:
    fault = server.inject(Fault(kind=FaultKind.SLOW, operation="GetRecords", delay=HOLD))
    async with client(server) as kinesis:
        reader = kinesis.read_shard("s", SHARD, start=aiokinesis.StartingPosition.trim_horizon())
        batch = asyncio.create_task(reader.next_batch())
        await arrived(fault)
        await kinesis.aclose()
        with pytest.raises(aiokinesis.ClientClosedError):
            await batch


async def test_a_consumer_on_a_closing_client_fails_with_client_closed(server: KinesisServer) -> None:
    fault = server.inject(Fault(kind=FaultKind.SLOW, operation="GetRecords", delay=HOLD))
    async with client(server) as kinesis:
        start = aiokinesis.StartingPosition.trim_horizon()
        async with kinesis.consumer("s", start=start) as consumer:
            batch = asyncio.create_task(anext(consumer))
            await arrived(fault)
            await kinesis.aclose()
            with pytest.raises(aiokinesis.ClientClosedError):
                await batch


async def test_a_consumer_of_many_shards_on_a_closing_client_fails_with_one_client_closed(
    server: KinesisServer,
) -> None:
    fault = server.inject(Fault(kind=FaultKind.SLOW, operation="GetRecords", delay=HOLD, times=3))
    async with client(server) as kinesis:
        start = aiokinesis.StartingPosition.trim_horizon()
        async with kinesis.consumer("wide", start=start) as consumer:
            batch = asyncio.create_task(anext(consumer))
            for _ in range(10_000):  # readers of two shards or more have a read in flight
                if fault.fired >= 2:
                    break
                await asyncio.sleep(0.001)
            assert fault.fired >= 2
            await kinesis.aclose()
            with pytest.raises(aiokinesis.ClientClosedError):  # one error, not a group of three
                await batch


async def test_a_subscription_being_read_when_the_client_closes_raises_client_closed(server: KinesisServer) -> None:
    async with client(server) as kinesis:
        arn = server.backend.streams["s"].arn
        consumer = (await kinesis.register_stream_consumer(stream_arn=arn, consumer_name="efo")).consumer
        out = await kinesis.subscribe_to_shard(
            consumer_arn=consumer.consumer_arn,
            shard_id=SHARD,
            starting_position=aiokinesis.StartingPosition.trim_horizon(),
        )
        async with out.event_stream as events:
            await anext(events)  # the subscription is live; the next event waits for the heartbeat
            waiting = asyncio.create_task(anext(events))
            await asyncio.sleep(0)
            await kinesis.aclose()
            with pytest.raises(aiokinesis.ClientClosedError):
                await waiting
            with pytest.raises(StopAsyncIteration):  # closed with its client: it ends
                await anext(events)


async def test_a_call_on_a_closed_http_session_of_the_caller_raises_client_closed(server: KinesisServer) -> None:
    async with aiohttp.ClientSession() as own, client(server, http_session=own) as kinesis:
        await kinesis.describe_stream_summary(stream_name="s")
        await own.close()
        with pytest.raises(aiokinesis.ClientClosedError, match="HTTP session is closed"):
            await kinesis.describe_stream_summary(stream_name="s")
