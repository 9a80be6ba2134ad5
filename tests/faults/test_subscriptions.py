"""SubscribeToShard on aiokinesis.testing: 5-minute subscriptions, re-subscribing, shard end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

import aiokinesis
from aiokinesis._generated.models import SubscribeToShardInput
from aiokinesis.subscriptions import subscribe
from aiokinesis.testing import Fault, FaultKind, KinesisServer
from tests.conftest import LOCAL_KEYS as KEYS
from tests.fakes import FakeTime

SHARD = "shardId-000000000000"


@pytest.fixture(params=["HTTP/1.1", "HTTP/2"])
async def setup(
    fake_time: FakeTime, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[KinesisServer, aiokinesis.Client, str]]:
    """Every case over both transports: the server serves h2c on the same port as HTTP/1.1."""
    http = aiokinesis.HttpConfig(http2=request.param == "HTTP/2")
    async with (
        KinesisServer(streams={"s": 1}, clock=fake_time.clock) as server,
        aiokinesis.Client(
            endpoint_url=server.endpoint_url, clock=fake_time.clock, sleep=fake_time.sleep, http=http, **KEYS
        ) as kinesis,
    ):
        arn = server.backend.streams["s"].arn
        consumer = (await kinesis.register_stream_consumer(stream_arn=arn, consumer_name="efo")).consumer
        yield server, kinesis, consumer.consumer_arn


def position(kind: str, sequence: str | None = None) -> aiokinesis.StartingPosition:
    return aiokinesis.StartingPosition(type=kind, sequence_number=sequence)


async def test_a_second_subscription_within_5_s_is_refused(
    setup: tuple[KinesisServer, aiokinesis.Client, str], fake_time: FakeTime
) -> None:
    _, kinesis, consumer = setup
    first = await kinesis.subscribe_to_shard(
        consumer_arn=consumer, shard_id=SHARD, starting_position=position("LATEST")
    )
    async with first.event_stream:
        fake_time.advance(4)
        with pytest.raises(aiokinesis.ResourceInUseException):
            await kinesis.subscribe_to_shard(
                consumer_arn=consumer, shard_id=SHARD, starting_position=position("LATEST")
            )
    fake_time.advance(1)
    again = await kinesis.subscribe_to_shard(
        consumer_arn=consumer, shard_id=SHARD, starting_position=position("LATEST")
    )
    async with again.event_stream:
        pass


async def test_subscriptions_end_after_5_minutes_and_resume_from_the_continuation(
    setup: tuple[KinesisServer, aiokinesis.Client, str], fake_time: FakeTime
) -> None:
    _, kinesis, consumer = setup
    for i in range(3):
        await kinesis.put_record(stream_name="s", data=f"a{i}".encode(), partition_key="k")
    received: list[bytes] = []
    continuation = None
    out = await kinesis.subscribe_to_shard(
        consumer_arn=consumer, shard_id=SHARD, starting_position=position("TRIM_HORIZON")
    )
    async with out.event_stream as events, asyncio.timeout(10):
        async for event in events:
            received += [r.data for r in event.records]
            continuation = event.continuation_sequence_number
            if len(received) == 3:
                fake_time.advance(301)  # the subscription's five minutes are up
        # iteration ended by itself: Kinesis closed the subscription
    assert received == [b"a0", b"a1", b"a2"]
    for i in range(2):
        await kinesis.put_record(stream_name="s", data=f"b{i}".encode(), partition_key="k")
    out = await kinesis.subscribe_to_shard(
        consumer_arn=consumer, shard_id=SHARD, starting_position=position("AFTER_SEQUENCE_NUMBER", continuation)
    )
    async with out.event_stream as events, asyncio.timeout(10):
        async for event in events:
            received += [r.data for r in event.records]
            if len(received) == 5:
                break
    assert received == [b"a0", b"a1", b"a2", b"b0", b"b1"]  # nothing lost, nothing repeated


async def test_a_subscription_ends_at_the_shard_end_with_child_shards(
    setup: tuple[KinesisServer, aiokinesis.Client, str],
) -> None:
    server, kinesis, consumer = setup
    await kinesis.put_record(stream_name="s", data=b"last", partition_key="k")
    stream = server.backend.streams["s"]
    children = server.backend.split_shard(stream, stream.shard(SHARD), 2**127)
    out = await kinesis.subscribe_to_shard(
        consumer_arn=consumer, shard_id=SHARD, starting_position=position("TRIM_HORIZON")
    )
    events = []
    async with out.event_stream as stream_events, asyncio.timeout(10):
        events = [event async for event in stream_events]
    assert [r.data for e in events for r in e.records] == [b"last"]
    assert events[-1].child_shards is not None
    assert events[-1].continuation_sequence_number is None  # AWS's shard end: no continuation, ChildShards
    assert sorted(c.shard_id for c in events[-1].child_shards) == sorted(c.shard_id for c in children)


async def test_unknown_consumers_and_shards_are_refused(setup: tuple[KinesisServer, aiokinesis.Client, str]) -> None:
    server, kinesis, consumer = setup
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.subscribe_to_shard(
            consumer_arn=consumer, shard_id="shardId-000000000042", starting_position=position("LATEST")
        )
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.subscribe_to_shard(
            consumer_arn=f"{server.backend.streams['s'].arn}/consumer/ghost:1",
            shard_id=SHARD,
            starting_position=position("LATEST"),
        )


async def _events_until_error(out: aiokinesis.SubscribeToShardOutput) -> tuple[list[bytes], BaseException]:
    received: list[bytes] = []
    async with out.event_stream as events, asyncio.timeout(10):
        try:
            async for event in events:
                received += [r.data for r in event.records]
        except aiokinesis.KinesisError as exc:
            return received, exc
    raise AssertionError(f"the stream ended without an error after {received}")


async def test_an_exception_event_raises_its_modeled_error(setup: tuple[KinesisServer, aiokinesis.Client, str]) -> None:
    server, kinesis, consumer = setup
    await kinesis.put_record(stream_name="s", data=b"one", partition_key="k")
    server.inject(
        Fault(kind=FaultKind.EXCEPTION_EVENT, operation="SubscribeToShard", events=1, exception_type="InternalFailure")
    )
    out = await kinesis.subscribe_to_shard(
        consumer_arn=consumer, shard_id=SHARD, starting_position=position("TRIM_HORIZON")
    )
    received, error = await _events_until_error(out)
    assert received == [b"one"]
    assert isinstance(error, aiokinesis.ServiceError)
    assert error.code == "InternalFailure"


async def test_a_connection_dropped_mid_event_is_a_lost_connection(
    setup: tuple[KinesisServer, aiokinesis.Client, str],
) -> None:
    server, kinesis, consumer = setup
    await kinesis.put_record(stream_name="s", data=b"one", partition_key="k")
    server.inject(Fault(kind=FaultKind.DROP_MID_EVENT, operation="SubscribeToShard", events=1))
    out = await kinesis.subscribe_to_shard(
        consumer_arn=consumer, shard_id=SHARD, starting_position=position("TRIM_HORIZON")
    )
    await kinesis.put_record(stream_name="s", data=b"cut", partition_key="k")
    received, error = await _events_until_error(out)
    assert received == [b"one"]
    assert isinstance(error, aiokinesis.ConnectionLostError | aiokinesis.ProtocolError)


async def test_a_silent_subscription_stays_open_until_the_client_closes_it(
    setup: tuple[KinesisServer, aiokinesis.Client, str], fake_time: FakeTime, request: pytest.FixtureRequest
) -> None:
    server, kinesis, consumer = setup
    server.inject(Fault(kind=FaultKind.SILENT, operation="SubscribeToShard"))
    out = await kinesis.subscribe_to_shard(consumer_arn=consumer, shard_id=SHARD, starting_position=position("LATEST"))
    await kinesis.put_record(stream_name="s", data=b"never sent", partition_key="k")
    fake_time.advance(400)
    (state,) = server.subscriptions
    assert state.protocol == request.node.callspec.params["setup"]  # each transport is the one asked for
    assert state.events_sent == 0
    out.event_stream.close()
    for _ in range(1000):  # the server sees the client go at its next poll
        if not server.subscriptions:
            break
        await asyncio.sleep(0.01)
    assert server.subscriptions == []


async def test_a_subscription_taken_over_raises_resource_in_use(
    setup: tuple[KinesisServer, aiokinesis.Client, str], fake_time: FakeTime
) -> None:
    _, kinesis, consumer = setup
    older = await kinesis.subscribe_to_shard(
        consumer_arn=consumer, shard_id=SHARD, starting_position=position("LATEST")
    )
    fake_time.advance(5)
    newer = await kinesis.subscribe_to_shard(
        consumer_arn=consumer, shard_id=SHARD, starting_position=position("LATEST")
    )
    async with newer.event_stream:
        _, error = await _events_until_error(older)
    assert isinstance(error, aiokinesis.ResourceInUseException)


async def test_deregistering_the_consumer_ends_its_subscription_with_resource_not_found(
    setup: tuple[KinesisServer, aiokinesis.Client, str],
) -> None:
    _, kinesis, consumer = setup
    out = await kinesis.subscribe_to_shard(consumer_arn=consumer, shard_id=SHARD, starting_position=position("LATEST"))
    await kinesis.deregister_stream_consumer(consumer_arn=consumer)
    _, error = await _events_until_error(out)
    assert isinstance(error, aiokinesis.ResourceNotFoundException)


async def test_a_split_mid_subscription_ends_it_with_child_shards(
    setup: tuple[KinesisServer, aiokinesis.Client, str],
) -> None:
    _, kinesis, consumer = setup
    out = await kinesis.subscribe_to_shard(
        consumer_arn=consumer, shard_id=SHARD, starting_position=position("TRIM_HORIZON")
    )
    await kinesis.put_record(stream_name="s", data=b"before", partition_key="k")
    await kinesis.split_shard(stream_name="s", shard_to_split=SHARD, new_starting_hash_key=str(2**127))
    async with out.event_stream as events, asyncio.timeout(10):
        received = [event async for event in events]
    assert [r.data for e in received for r in e.records] == [b"before"]
    assert received[-1].continuation_sequence_number is None
    assert received[-1].child_shards is not None
    assert len(received[-1].child_shards) == 2
    assert all(e.child_shards is None for e in received[:-1])


async def test_injected_refusals_of_a_subscription(setup: tuple[KinesisServer, aiokinesis.Client, str]) -> None:
    server, kinesis, consumer = setup
    server.inject(Fault(kind=FaultKind.RESOURCE_IN_USE, operation="SubscribeToShard"))
    server.inject(Fault(kind=FaultKind.RESOURCE_NOT_FOUND, operation="SubscribeToShard"))
    for expected in (aiokinesis.ResourceInUseException, aiokinesis.ResourceNotFoundException):
        with pytest.raises(expected):
            await kinesis.subscribe_to_shard(
                consumer_arn=consumer, shard_id=SHARD, starting_position=position("LATEST")
            )


async def test_a_subscription_fault_waits_for_a_subscription_that_opens(
    setup: tuple[KinesisServer, aiokinesis.Client, str], fake_time: FakeTime
) -> None:
    server, kinesis, consumer = setup
    first = await kinesis.subscribe_to_shard(
        consumer_arn=consumer, shard_id=SHARD, starting_position=position("LATEST")
    )
    async with first.event_stream:
        fault = server.inject(Fault(kind=FaultKind.EXCEPTION_EVENT, operation="SubscribeToShard", shard=SHARD))
        fake_time.advance(1)  # past the one-call-a-second rule, which would answer LimitExceeded instead
        with pytest.raises(aiokinesis.ResourceInUseException):  # within 5 s: refused, so nothing to strike
            await kinesis.subscribe_to_shard(
                consumer_arn=consumer, shard_id=SHARD, starting_position=position("LATEST")
            )
        assert fault.fired == 0
    fake_time.advance(5)
    again = await kinesis.subscribe_to_shard(
        consumer_arn=consumer, shard_id=SHARD, starting_position=position("LATEST")
    )
    async with again.event_stream as events, asyncio.timeout(10):
        with pytest.raises(aiokinesis.InternalFailureException, match="Injected fault"):
            async for _ in events:
                pass
    assert fault.fired == 1


async def test_the_clients_subscribe_to_shard_still_retries_a_500_while_the_consumers_does_not(
    setup: tuple[KinesisServer, aiokinesis.Client, str], fake_time: FakeTime
) -> None:
    """Client.subscribe_to_shard keeps the session's retries (a caller with no pacing of its own);
    open_stream(retries=False), what the fan-out consumer uses, makes one attempt."""
    server, kinesis, consumer = setup
    fault = server.inject(Fault(kind=FaultKind.INTERNAL_FAILURE, operation="SubscribeToShard", shard=SHARD))
    out = await kinesis.subscribe_to_shard(consumer_arn=consumer, shard_id=SHARD, starting_position=position("LATEST"))
    async with out.event_stream:
        assert fault.fired == 1
        assert len(fake_time.sleeps) == 1  # the session's backoff before its second attempt
    fake_time.advance(6)
    server.inject(Fault(kind=FaultKind.INTERNAL_FAILURE, operation="SubscribeToShard", shard=SHARD))
    request = SubscribeToShardInput(consumer_arn=consumer, shard_id=SHARD, starting_position=position("LATEST"))
    with pytest.raises(aiokinesis.InternalFailureException):
        await subscribe(kinesis._session, request, dict, retries=False)
    assert len(fake_time.sleeps) == 1
