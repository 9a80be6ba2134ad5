"""The enhanced fan-out consumer through the test server's subscription faults, over HTTP/2 and HTTP/1.1.

Each fault strikes one shard's subscription while records flow on every shard; the consumer must
hand out every record once, in order per key, and checkpoint where it stopped. The server (limits
on) and the consumer (default FanOutConfig) share one injected clock: the consumer's waits move it
on, so AWS's 5-second and 1-second rules hold between them without waiting; the silence timer waits
until a test moves the clock. Each test is bounded by asyncio.timeout.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

import aiokinesis
from aiokinesis import StartingPosition
from aiokinesis.testing import Fault, FaultKind, KinesisServer, Limits
from tests.conftest import LOCAL_KEYS
from tests.fakes import SharedTime
from tests.faults.test_consumer import assert_key_order, consume, put_direct

TRIM = StartingPosition.trim_horizon()
SHARD0 = "shardId-000000000000"


@pytest.fixture
def shared() -> SharedTime:
    return SharedTime()


@pytest.fixture
async def server(shared: SharedTime) -> AsyncIterator[KinesisServer]:
    async with KinesisServer(streams={"s": 4}, clock=shared.clock, seed=3) as local:
        yield local


@pytest.fixture(params=["HTTP/2", "HTTP/1.1"])
async def kinesis(
    server: KinesisServer, shared: SharedTime, request: pytest.FixtureRequest
) -> AsyncIterator[aiokinesis.Client]:
    """The client over HTTP/2 (h2c, h2 being installed) and over the HTTP/1.1 path used without h2."""
    http = aiokinesis.HttpConfig(http2=request.param == "HTTP/2")
    async with aiokinesis.Client(
        endpoint_url=server.endpoint_url,
        clock=shared.clock,
        sleep=shared.sleep,
        rand=lambda: 0.5,
        http=http,
        **LOCAL_KEYS,
    ) as client:
        yield client


def progress_of(consumer: aiokinesis.StreamConsumer, shard_id: str) -> aiokinesis.ShardProgress:
    return next(p for p in consumer.progress() if p.shard_id == shard_id)


def values(first: int, last: int) -> list[str]:
    return [f"v{i}" for i in range(first, last)]


def assert_once(got: list[aiokinesis.ShardRecord], count: int) -> None:
    assert sorted(int(r.data[1:]) for r in got) == list(range(count))  # every record, once
    assert_key_order(got)


async def checkpoints_at_the_tip(server: KinesisServer, store: aiokinesis.MemoryCheckpoints) -> None:
    """Each shard's checkpoint is its last record (the consumer checkpointed every batch)."""
    for shard in server.backend.streams["s"].shards:
        saved = await store.get("s", shard.shard_id)
        if shard.records:
            assert saved is not None, shard.shard_id
            assert saved.sequence_number == str(shard.records[-1].sequence), shard.shard_id


async def until(done: object, rounds: int = 2000) -> None:
    """Let the client and the server run (real I/O between them) until `done()`; bounded."""
    assert callable(done)
    for _ in range(rounds):
        if done():
            return
        await asyncio.sleep(0.005)
    assert done()


async def test_a_connection_dropped_mid_event_renews_from_the_last_continuation(
    server: KinesisServer, kinesis: aiokinesis.Client, caplog: pytest.LogCaptureFixture
) -> None:
    put_direct(server, values(0, 100))
    # The first event (the records already there) and the empty one after it come whole; the next
    # event's frame is cut in half and the connection aborted.
    fault = server.inject(Fault(kind=FaultKind.DROP_MID_EVENT, operation="SubscribeToShard", shard=SHARD0, events=1))
    store = aiokinesis.MemoryCheckpoints()
    caplog.set_level(logging.WARNING, logger="aiokinesis.subscription")
    async with kinesis.consumer("s", checkpoints=store, start=TRIM, enhanced_fan_out="app") as consumer:
        got = await consume(consumer, 100)
        await until(lambda: any(s.shard_id == SHARD0 and s.events_sent >= 1 for s in server.subscriptions))
        put_direct(server, values(100, 300))  # the struck event carries some of these
        got += await consume(consumer, 200)
        shard0 = next(p for p in consumer.progress() if p.shard_id == SHARD0)
    assert fault.fired == 1
    assert shard0.retries == 1
    assert any(SHARD0 in r.getMessage() and "subscribing again" in r.getMessage() for r in caplog.records)
    assert_once(got, 300)
    await checkpoints_at_the_tip(server, store)


async def test_an_internal_failure_event_renews_and_loses_nothing(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    put_direct(server, values(0, 100))
    fault = server.inject(
        Fault(kind=FaultKind.EXCEPTION_EVENT, operation="SubscribeToShard", shard=SHARD0, events=1, times=3)
    )
    store = aiokinesis.MemoryCheckpoints()
    async with kinesis.consumer("s", checkpoints=store, start=TRIM, enhanced_fan_out="app") as consumer:
        got = await consume(consumer, 100)
        put_direct(server, values(100, 300))
        got += await consume(consumer, 200)
        # three subscriptions in a row struck, each renewed from where the last one stopped
        await until(lambda: progress_of(consumer, SHARD0).retries == 3)
        put_direct(server, values(300, 320))
        got += await consume(consumer, 20)
    assert fault.fired == 3
    assert_once(got, 320)
    await checkpoints_at_the_tip(server, store)


async def test_a_kms_access_denied_event_ends_the_iteration_with_that_error(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    put_direct(server, values(0, 100))
    server.inject(
        Fault(
            kind=FaultKind.EXCEPTION_EVENT,
            operation="SubscribeToShard",
            shard=SHARD0,
            events=1,
            exception_type="KMSAccessDeniedException",
        )
    )
    async with kinesis.consumer("s", start=TRIM, enhanced_fan_out="app") as consumer:
        got = await consume(consumer, 100)
        with pytest.raises(aiokinesis.KMSAccessDeniedException, match="Injected fault") as caught:
            await consume(consumer, 10_000)
        with pytest.raises(aiokinesis.KMSAccessDeniedException):  # every later call says it again
            await anext(consumer)
    assert caught.value.code == "KMSAccessDeniedException"
    assert_once(got, 100)
    await until(lambda: not server.subscriptions)  # the other shards' subscriptions were closed


async def test_resource_not_found_on_an_open_shard_is_retried_not_taken_for_its_end(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    put_direct(server, values(0, 100))
    fault = server.inject(Fault(kind=FaultKind.RESOURCE_NOT_FOUND, operation="SubscribeToShard", shard=SHARD0, times=2))
    async with kinesis.consumer("s", start=TRIM, enhanced_fan_out="app") as consumer:
        got = await consume(consumer, 100)
        put_direct(server, values(100, 200))
        got += await consume(consumer, 100)
        shard0 = next(p for p in consumer.progress() if p.shard_id == SHARD0)
    assert fault.fired == 2
    assert not shard0.ended
    assert shard0.retries == 2
    assert_once(got, 200)


async def test_resource_not_found_on_a_closed_shard_is_its_end_and_its_children_are_read(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    """As for a parent shard past its retention: every subscription to it is refused as not found;
    ListShards shows it closed, so it ends and its children (which hold every record) are read."""
    stream = server.backend.streams["s"]
    shard0 = stream.shard(SHARD0)
    server.backend.split_shard(stream, shard0, (shard0.start_hash + shard0.end_hash) // 2)
    fault = server.inject(
        Fault(kind=FaultKind.RESOURCE_NOT_FOUND, operation="SubscribeToShard", shard=SHARD0, times=None)
    )
    put_direct(server, values(0, 100))  # after the split: none in shard 0
    async with kinesis.consumer("s", start=TRIM, enhanced_fan_out="app") as consumer:
        got = await consume(consumer, 100)
        shard = progress_of(consumer, SHARD0)
        children = [progress_of(consumer, s.shard_id) for s in stream.shards if s.parent == SHARD0]
    assert fault.fired == 1
    assert shard.ended
    assert shard.retries == 0
    assert len(children) == 2
    assert all(child.started for child in children)
    assert_once(got, 100)


async def test_deregistering_the_consumer_mid_run_ends_the_iteration_with_consumer_deleted(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    put_direct(server, values(0, 60))
    async with kinesis.consumer("s", start=TRIM, enhanced_fan_out="app") as consumer:
        got = await consume(consumer, 60)
        arn = server.backend.streams["s"].consumers["app"].arn
        await kinesis.deregister_stream_consumer(consumer_arn=arn)  # the open streams end with an exception event
        with pytest.raises(aiokinesis.ConsumerDeletedError) as caught:
            await consume(consumer, 1)
    assert caught.value.consumer_arn == arn
    assert isinstance(caught.value.__cause__, aiokinesis.ResourceNotFoundException)
    assert_once(got, 60)
    await until(lambda: not server.subscriptions)


async def test_a_silent_subscription_is_dropped_after_the_silence_timeout_and_renewed(
    server: KinesisServer, kinesis: aiokinesis.Client, shared: SharedTime, caplog: pytest.LogCaptureFixture
) -> None:
    put_direct(server, values(0, 100))
    fault = server.inject(Fault(kind=FaultKind.SILENT, operation="SubscribeToShard", shard=SHARD0, events=1))
    caplog.set_level(logging.WARNING, logger="aiokinesis.subscription")
    async with kinesis.consumer("s", start=TRIM, enhanced_fan_out="app") as consumer:
        got = await consume(consumer, 100)
        shard0 = server.backend.streams["s"].shard(SHARD0)
        before = len(shard0.records)
        put_direct(server, values(100, 300))
        silent = next(s for s in server.subscriptions if s.shard_id == SHARD0)
        got += await consume(consumer, 200 - (len(shard0.records) - before))  # all but the silent shard's
        assert silent in server.subscriptions  # still open,
        assert silent.events_sent == 1  # still silent
        shared.advance(35)  # FanOutConfig.silence_timeout
        got += await consume(consumer, 300 - len(got))
        await until(lambda: silent not in server.subscriptions)  # the silent one was closed
    assert fault.fired == 1
    assert any(f"shard {SHARD0}: no event for 35 s" in r.getMessage() for r in caplog.records)
    assert server.backend.throttled == 0
    assert_once(got, 300)


def record_subscribe_calls(server: KinesisServer, clock: SharedTime) -> list[tuple[float, str]]:
    """(time, shard) of every SubscribeToShard the backend sees, refused or not (injected refusals aside)."""
    calls: list[tuple[float, str]] = []
    subscribe = server.backend.subscribe

    def recording(request: dict[str, Any]) -> Any:
        calls.append((clock.now, str(request.get("ShardId"))))
        return subscribe(request)

    server.backend.subscribe = recording  # type: ignore[method-assign]
    return calls


async def test_resource_in_use_backs_off_at_least_in_use_delay_on_the_consumers_clock(
    server: KinesisServer, kinesis: aiokinesis.Client, shared: SharedTime
) -> None:
    put_direct(server, values(0, 100))
    fault = server.inject(Fault(kind=FaultKind.RESOURCE_IN_USE, operation="SubscribeToShard", shard=SHARD0, times=2))
    calls = record_subscribe_calls(server, shared)
    async with kinesis.consumer("s", start=TRIM, enhanced_fan_out="app") as consumer:
        start = shared.now
        got = await consume(consumer, 100)
        shard0 = progress_of(consumer, SHARD0)
    assert fault.fired == 2
    assert shard0.throttles == 2
    # the two refused calls never reach the backend; the first that does comes after two waits
    # of in_use_delay (5 s) and a random share of it again (rand() = 0.5 here)
    assert [when - start for when, shard in calls if shard == SHARD0] == [2 * 7.5]
    assert shared.slept.count(7.5) == 2
    assert server.backend.throttled == 0
    assert_once(got, 100)


async def test_two_readers_of_one_consumer_name_take_the_shards_over_in_turn_and_both_read_everything(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    """Two processes reading one stream as one consumer name without leases: AWS lets a new
    subscription of a shard take over the older one (which ends with ResourceInUseException) once 5 s
    have passed. Each reader backs off, takes the shard back in turn, and goes on from its own
    position: both read every record once, in order per key (leases are how to split the shards).
    Two processes cannot pace their calls together, so the server may refuse some as over 1 a second."""
    put_direct(server, values(0, 100))
    async with (
        kinesis.consumer("s", start=TRIM, enhanced_fan_out="app") as first,
        kinesis.consumer("s", start=TRIM, enhanced_fan_out="app") as second,
    ):
        one = asyncio.create_task(consume(first, 200))
        two = asyncio.create_task(consume(second, 200))
        await until(lambda: sum(p.throttles for c in (first, second) for p in c.progress()) >= 8)
        put_direct(server, values(100, 200))
        got_one, got_two = await one, await two
        assert all(sum(p.throttles for p in c.progress()) > 0 for c in (first, second))
    assert_once(got_one, 200)
    assert_once(got_two, 200)


def record_calls(server: KinesisServer, clock: SharedTime) -> list[tuple[float, frozenset[str]]]:
    """(time, shards) of every SubscribeToShard the server gets, injected refusals included
    (seen where faults are matched: a test keeps one fault pending for it)."""
    calls: list[tuple[float, frozenset[str]]] = []
    take = server.faults.take

    def recording(operation: str, stream: str | None, shards: set[str], *, http2: bool) -> Fault | None:
        if operation == "SubscribeToShard":
            calls.append((clock.now, frozenset(shards)))
        return take(operation, stream, shards, http2=http2)

    server.faults.take = recording  # type: ignore[method-assign]
    return calls


async def failing_subscribe_calls(server: KinesisServer, kinesis: aiokinesis.Client, shared: SharedTime) -> list[float]:
    """Refuse shard 0's subscriptions six times in a row, in three ways; the times of its calls."""
    put_direct(server, values(0, 100))
    calls = record_calls(server, shared)
    server.inject(Fault(kind=FaultKind.SLOW, operation="Nothing", times=None))  # keeps faults pending
    for kind in (FaultKind.INTERNAL_FAILURE, FaultKind.SERVICE_UNAVAILABLE, FaultKind.LIMIT_EXCEEDED):
        server.inject(Fault(kind=kind, operation="SubscribeToShard", shard=SHARD0, times=2))
    async with kinesis.consumer("s", start=TRIM, enhanced_fan_out="app") as consumer:
        got = await consume(consumer, 100)
    assert_once(got, 100)
    assert server.backend.throttled == 0
    return [when for when, shards in calls if SHARD0 in shards]


async def test_failed_subscribe_calls_are_never_more_than_one_a_second_per_shard(
    server: KinesisServer, shared: SharedTime
) -> None:
    async with aiokinesis.Client(
        endpoint_url=server.endpoint_url,
        clock=shared.clock,
        sleep=shared.sleep,
        rand=lambda: 0.5,
        retry=aiokinesis.RetryConfig(max_attempts=1),
        **LOCAL_KEYS,
    ) as kinesis:
        times = await failing_subscribe_calls(server, kinesis, shared)
    assert len(times) == 7
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(times)), times


async def test_the_clients_own_retries_keep_to_one_subscribe_call_a_second(
    server: KinesisServer, kinesis: aiokinesis.Client, shared: SharedTime
) -> None:
    """With the client's default RetryConfig the session does not retry SubscribeToShard beneath
    the source (25-50 ms after a 500): each refused call is the source's, a second or more apart."""
    times = await failing_subscribe_calls(server, kinesis, shared)
    assert len(times) == 7
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(times)), times


async def test_a_split_and_a_merge_mid_subscription_with_limits_on(
    server: KinesisServer, kinesis: aiokinesis.Client, shared: SharedTime
) -> None:
    put_direct(server, values(0, 200))
    store = aiokinesis.MemoryCheckpoints()
    async with kinesis.consumer("s", checkpoints=store, start=TRIM, enhanced_fan_out="app") as consumer:
        got = await consume(consumer, 100)
        stream = server.backend.streams["s"]
        shard0 = stream.shard(SHARD0)
        server.backend.split_shard(stream, shard0, (shard0.start_hash + shard0.end_hash) // 2)
        server.backend.merge_shards(stream, stream.shard("shardId-000000000002"), stream.shard("shardId-000000000003"))
        put_direct(server, values(200, 400))
        got += await consume(consumer, 400 - len(got))
        progress = {p.shard_id: p for p in consumer.progress()}
    assert server.backend.throttled == 0
    assert_once(got, 400)
    assert len(progress) == 7
    assert all(progress[s].ended for s in (SHARD0, "shardId-000000000002", "shardId-000000000003"))
    for parent in (SHARD0, "shardId-000000000002", "shardId-000000000003"):
        saved = await store.get("s", parent)
        assert saved is not None, parent
        assert saved.ended, parent
    children = [s for s in stream.shards if s.parent is not None]
    assert all(progress[s.shard_id].records == len(s.records) for s in children)


@pytest.mark.parametrize("http2", [False, True], ids=["HTTP/1.1", "HTTP/2"])
async def test_a_user_who_stops_taking_batches_stops_the_subscription_not_fills_memory(
    shared: SharedTime, http2: bool
) -> None:
    """The consumer reads a subscription only while it has room for a batch: once the user stops
    asking, the client stops reading, the socket (or the HTTP/2 stream window) fills, and the
    server's write waits (bytes_waiting) while records keep arriving; the consumer holds no more
    than its max_buffered_batches."""
    big = base64.b64encode(b"x" * 100_000).decode()

    def put(count: int, first: int) -> None:
        entries = [{"Data": big, "PartitionKey": f"k{first + i}"} for i in range(count)]
        local.backend.PutRecords({"StreamName": "s", "Records": entries})

    config = aiokinesis.ConsumerConfig(max_buffered_batches=2)
    async with (
        KinesisServer(streams={"s": 1}, limits=Limits(enabled=False), clock=shared.clock) as local,
        aiokinesis.Client(
            endpoint_url=local.endpoint_url,
            clock=shared.clock,
            sleep=shared.sleep,
            http=aiokinesis.HttpConfig(http2=http2),
            **LOCAL_KEYS,
        ) as kinesis,
        kinesis.consumer("s", start=TRIM, enhanced_fan_out="app", config=config) as consumer,
    ):
        put(1, 0)
        got = list(await anext(consumer))
        put_so_far = 1
        # Until the server's write has waited through 5 polls with no event getting out: a window
        # can be full for a moment while the consumer still has room and is about to read.
        still = 0
        last = -1
        for _ in range(200):  # 100 MB at most: far more than the socket buffers and windows hold
            state = local.subscriptions[0] if local.subscriptions else None
            still = still + 1 if state is not None and state.bytes_waiting and state.events_sent == last else 0
            if still == 5:
                break
            last = state.events_sent if state is not None else -1
            put(5, put_so_far)
            put_so_far += 5
            await asyncio.sleep(0.01)
        (subscription,) = local.subscriptions
        assert subscription.bytes_waiting > 0  # the server cannot write: nobody reads
        sent = subscription.events_sent
        for _ in range(10):
            put(5, put_so_far)
            put_so_far += 5
            await asyncio.sleep(0.01)
        assert subscription.events_sent == sent  # records keep coming, events do not
        assert progress_of(consumer, "shardId-000000000000").pending <= 3  # 2 buffered, 1 in hand
        async with asyncio.timeout(30):
            async for batch in consumer:  # the user comes back: everything arrives, once
                got += batch.records
                if len(got) >= put_so_far:
                    break
    assert sorted(int(str(r.partition_key)[1:]) for r in got) == list(range(put_so_far))
