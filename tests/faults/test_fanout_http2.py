"""The enhanced fan-out consumer over HTTP/2 (h2c) against aiokinesis.testing, through its public API.

Many subscriptions share a connection up to the server's MAX_CONCURRENT_STREAMS; a GOAWAY moves
the streams it never took to a new connection while the others renew from their continuation; an
RST_STREAM renews its shard only; a shard whose stream window is full does not stop the others on
the connection; closing or cancelling the consumer leaves the pooled connection with no stream, fit
for the next consumer. The connections are counted through the client's pool. The server's clock
is the wall clock, limits off, the consumer's waits short (test_fanout.py's FAST); every test is
bounded by asyncio.timeout (in `consume`) or by a bounded loop (`until`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator

import pytest

import aiokinesis
from aiokinesis._http2pool import Http2Pool
from aiokinesis.testing import Fault, FaultKind, KinesisServer, Limits
from aiokinesis.testing._feed import OpenSubscription
from tests.conftest import LOCAL_KEYS
from tests.faults.test_consumer import consume, put_direct
from tests.faults.test_fanout import FAST, ServerClock
from tests.faults.test_fanout_faults import SHARD0, TRIM, assert_once, until, values


@contextlib.asynccontextmanager
async def serving(
    shards: int, clock: ServerClock | None = None, *, max_concurrent_streams: int = 100
) -> AsyncIterator[tuple[KinesisServer, aiokinesis.Client]]:
    async with (
        KinesisServer(
            streams={"s": shards},
            limits=Limits(enabled=False),
            clock=clock or ServerClock(),
            max_concurrent_streams=max_concurrent_streams,
        ) as local,
        aiokinesis.Client(endpoint_url=local.endpoint_url, **LOCAL_KEYS) as kinesis,
    ):
        yield local, kinesis


def pool_of(kinesis: aiokinesis.Client) -> Http2Pool:
    pool = kinesis._session.http2
    assert pool is not None, "no HTTP/2 pool: the subscriptions went over HTTP/1.1"
    return pool


def streams_per_connection(kinesis: aiokinesis.Client) -> list[int]:
    return sorted(c.streams for c in pool_of(kinesis).connections())


async def test_sixty_shards_share_one_connection_and_every_record_comes_once_in_order() -> None:
    async with serving(60) as (server, kinesis):
        put_direct(server, values(0, 600), keys=120)
        async with kinesis.consumer("s", start=TRIM, enhanced_fan_out="app", config=FAST) as consumer:
            got = await consume(consumer, 600, checkpoint=False)
            await until(lambda: len(server.subscriptions) == 60)
            assert {s.protocol for s in server.subscriptions} == {"HTTP/2"}
            assert streams_per_connection(kinesis) == [60]
            progress = consumer.progress()
        assert pool_of(kinesis).opened == 1
    assert len(progress) == 60
    assert all(p.retries == 0 for p in progress)
    assert_once(got, 600)


async def test_the_servers_max_concurrent_streams_spreads_forty_shards_over_three_connections() -> None:
    async with serving(40, max_concurrent_streams=16) as (server, kinesis):
        put_direct(server, values(0, 400), keys=80)
        async with kinesis.consumer("s", start=TRIM, enhanced_fan_out="app", config=FAST) as consumer:
            got = await consume(consumer, 400, checkpoint=False)
            await until(lambda: len(server.subscriptions) == 40)
            assert streams_per_connection(kinesis) == [8, 16, 16]  # ceil(40 / 16) connections, full first
        assert pool_of(kinesis).opened == 3
    assert_once(got, 400)


async def test_goaway_mid_run_moves_every_subscription_to_a_new_connection_losing_and_repeating_nothing() -> None:
    """Shard 0's stream is reset after its second event; its renewal meets a GOAWAY naming the
    stream before it as the last processed. That renewal, never taken, is retried on a new
    connection; the seven older subscriptions end with the old connection and renew from their
    continuation on the new one. AWS's 5 seconds between two subscriptions of a shard are passed
    by moving the server's clock on once the GOAWAY is sent."""
    clock = ServerClock()
    async with serving(8, clock) as (server, kinesis):
        server.inject(Fault(kind=FaultKind.RST_STREAM, operation="SubscribeToShard", shard=SHARD0, events=2))
        goaway = server.inject(Fault(kind=FaultKind.GOAWAY, operation="SubscribeToShard", shard=SHARD0))
        put_direct(server, values(0, 200), keys=16)
        async with kinesis.consumer("s", start=TRIM, enhanced_fan_out="app", config=FAST) as consumer:
            got = await consume(consumer, 200)
            put_direct(server, values(200, 400), keys=16)
            got += await consume(consumer, 200)
            await until(lambda: goaway.fired == 1)
            clock.offset += 6
            await until(lambda: len(server.subscriptions) == 8)
            put_direct(server, values(400, 600), keys=16)
            got += await consume(consumer, 200)
            retries = {p.shard_id: p.retries for p in consumer.progress()}
            assert streams_per_connection(kinesis) == [8]
        assert pool_of(kinesis).opened == 2
    assert_once(got, 600)
    assert retries.pop(SHARD0) == 2  # the reset, then the request the GOAWAY refused
    assert set(retries.values()) == {1}  # each older subscription: the connection's end


async def test_rst_stream_renews_its_shard_only_and_the_connections_other_streams_go_on() -> None:
    clock = ServerClock()
    async with serving(8, clock) as (server, kinesis):
        reset = server.inject(Fault(kind=FaultKind.RST_STREAM, operation="SubscribeToShard", shard=SHARD0, events=1))
        put_direct(server, values(0, 200), keys=16)
        async with kinesis.consumer("s", start=TRIM, enhanced_fan_out="app", config=FAST) as consumer:
            got = await consume(consumer, 200)
            await until(lambda: reset.fired == 1)
            clock.offset += 6  # past AWS's 5 s between two subscriptions of a shard
            await until(lambda: len(server.subscriptions) == 8)
            put_direct(server, values(200, 400), keys=16)
            got += await consume(consumer, 200)
            retries = {p.shard_id: p.retries for p in consumer.progress()}
            assert streams_per_connection(kinesis) == [8]
        assert pool_of(kinesis).opened == 1
    assert_once(got, 400)
    assert retries.pop(SHARD0) == 1
    assert set(retries.values()) == {0}


async def test_a_shard_whose_stream_window_is_full_does_not_stall_the_others_on_its_connection() -> None:
    """The user stops taking batches while shard 0 gets 100 KB records: its source stops reading,
    its stream window fills and the server's write waits (bytes_waiting). Records put on the other
    shards then still get through the same connection (their events are sent whole), and once the
    user comes back every record arrives once. Flow control per stream, a connection window wide
    enough for every stream's: a connection window no wider than one stream's would stall them."""
    big = base64.b64encode(b"x" * 100_000).decode()
    config = aiokinesis.ConsumerConfig(fan_out=FAST.fan_out, list_shards_interval=60, max_buffered_batches=1)
    async with serving(4) as (server, kinesis):
        stream = server.backend.streams["s"]
        put = server.backend.PutRecords
        sent = {shard.shard_id: 0 for shard in stream.shards}

        def put_on(shard_id: str, data: str, count: int) -> None:
            start = str(stream.shard(shard_id).start_hash)
            entries = [
                {"Data": data, "PartitionKey": f"{shard_id}-{sent[shard_id] + i}", "ExplicitHashKey": start}
                for i in range(count)
            ]
            put({"StreamName": "s", "Records": entries})
            sent[shard_id] += count

        def subscription(shard_id: str) -> OpenSubscription | None:
            return next((s for s in server.subscriptions if s.shard_id == shard_id), None)

        others = [s.shard_id for s in stream.shards if s.shard_id != SHARD0]
        for shard_id in sent:
            put_on(shard_id, base64.b64encode(b"small").decode(), 1)
        async with kinesis.consumer("s", start=TRIM, enhanced_fan_out="app", config=config) as consumer:
            got = list(await anext(consumer))
            await until(lambda: len(server.subscriptions) == 4)
            # Until shard 0's write has waited through 5 polls with no event getting out.
            still, last = 0, -1
            for _ in range(200):  # 20 MB at most: far more than one stream window
                zero = subscription(SHARD0)
                still = still + 1 if zero is not None and zero.bytes_waiting and zero.events_sent == last else 0
                if still == 5:
                    break
                last = zero.events_sent if zero is not None else -1
                put_on(SHARD0, big, 1)
                await asyncio.sleep(0.01)
            stalled = subscription(SHARD0)
            assert stalled is not None
            assert stalled.bytes_waiting > 0
            stalled_events = stalled.events_sent
            before = {shard_id: subscription(shard_id) for shard_id in others}
            assert all(s is not None for s in before.values())
            counts = {shard_id: s.events_sent for shard_id, s in before.items() if s is not None}
            for shard_id in others:
                put_on(shard_id, base64.b64encode(b"small").decode(), 3)

            def others_sent() -> bool:
                now = {shard_id: subscription(shard_id) for shard_id in others}
                return all(s is not None and s.events_sent > counts[i] and not s.bytes_waiting for i, s in now.items())

            await until(others_sent)  # through the connection while shard 0's window is full
            assert stalled.bytes_waiting > 0
            assert stalled.events_sent == stalled_events
            assert streams_per_connection(kinesis) == [4]
            async with asyncio.timeout(30):
                async for batch in consumer:  # the user comes back: everything arrives, once
                    got += batch.records
                    if len(got) >= sum(sent.values()):
                        break
        assert pool_of(kinesis).opened == 1
    keys = sorted(str(r.partition_key) for r in got)
    assert keys == sorted(f"{shard_id}-{i}" for shard_id, count in sent.items() for i in range(count))


@pytest.mark.parametrize("how", ["closed", "cancelled"])
async def test_a_consumer_gone_leaves_no_stream_on_the_shared_connection_and_the_next_reads_on_it(how: str) -> None:
    async with serving(8) as (server, kinesis):
        put_direct(server, values(0, 200), keys=16)

        async def read_until_cancelled(started: asyncio.Event) -> None:
            async with kinesis.consumer("s", start=TRIM, enhanced_fan_out="app", config=FAST) as consumer:
                async for _ in consumer:
                    started.set()

        if how == "closed":
            async with kinesis.consumer("s", start=TRIM, enhanced_fan_out="app", config=FAST) as consumer:
                await consume(consumer, 200)
                await until(lambda: len(server.subscriptions) == 8)
        else:
            started = asyncio.Event()
            task = asyncio.create_task(read_until_cancelled(started))
            async with asyncio.timeout(30):
                await started.wait()
            await until(lambda: len(server.subscriptions) == 8)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        await until(lambda: not server.subscriptions)  # every stream reset: the server ends them
        assert streams_per_connection(kinesis) == [0]  # the connection stays, idle
        put_direct(server, values(200, 400), keys=16)
        async with kinesis.consumer("s", start=TRIM, enhanced_fan_out="next", config=FAST) as consumer:
            got = await consume(consumer, 400)
            assert streams_per_connection(kinesis) == [8]
        assert pool_of(kinesis).opened == 1
    assert_once(got, 400)


async def test_the_same_consumer_code_polling_and_with_enhanced_fan_out_gives_the_same_records() -> None:
    """Across a split and a merge: per shard, the same records in the same order either way."""

    async def read(kinesis: aiokinesis.Client, count: int, fan_out: str | None = None) -> dict[str, list[str]]:
        async with kinesis.consumer("s", start=TRIM, config=FAST, enhanced_fan_out=fan_out) as consumer:
            got = await consume(consumer, count)
        shards: dict[str, list[str]] = {}
        for record in got:
            shards.setdefault(record.shard_id, []).append(record.sequence_number)
        return shards

    async with serving(4) as (server, kinesis):
        put_direct(server, values(0, 200), keys=16)
        stream = server.backend.streams["s"]
        shard0 = stream.shard(SHARD0)
        server.backend.split_shard(stream, shard0, (shard0.start_hash + shard0.end_hash) // 2)
        server.backend.merge_shards(stream, stream.shard("shardId-000000000002"), stream.shard("shardId-000000000003"))
        put_direct(server, values(200, 400), keys=16)
        polled = await read(kinesis, 400)
        pushed = await read(kinesis, 400, "app")
    assert len(polled) == 7
    assert pushed == polled
