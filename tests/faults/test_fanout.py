"""The enhanced fan-out consumer against aiokinesis.testing: renewals, many shards, leases, a deleted consumer.

The server's clock is the wall clock plus an offset a test moves on: jumping it past 5 minutes
ends every open subscription (as Kinesis does) without waiting, and AWS's 5-second rule between
two subscriptions is then long past. Each test is bounded by asyncio.timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

import aiokinesis
from aiokinesis import InMemoryLeases, StartingPosition
from aiokinesis.testing import KinesisServer, Limits
from tests.conftest import LOCAL_KEYS
from tests.faults.test_consumer import assert_key_order, consume, put_direct

TRIM = StartingPosition.trim_horizon()
FAN_OUT = aiokinesis.FanOutConfig(
    subscribe_interval=0.01,
    in_use_delay=0.02,
    error_base_delay=0.002,
    throttle_base_delay=0.005,
    max_delay=0.02,
    active_poll_interval=0.01,
)
FAST = aiokinesis.ConsumerConfig(fan_out=FAN_OUT, list_shards_interval=0.05)


@dataclass
class ServerClock:
    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock() -> ServerClock:
    return ServerClock()


@pytest.fixture
async def server(clock: ServerClock) -> AsyncIterator[KinesisServer]:
    async with KinesisServer(streams={"s": 4}, limits=Limits(enabled=False), clock=clock) as local:
        yield local


@pytest.fixture
async def kinesis(server: KinesisServer) -> AsyncIterator[aiokinesis.Client]:
    async with aiokinesis.Client(endpoint_url=server.endpoint_url, **LOCAL_KEYS) as client:
        yield client


def renewed(caplog: pytest.LogCaptureFixture) -> set[str]:
    """The shards whose subscription Kinesis ended and the source renewed."""
    ends = [r.getMessage() for r in caplog.records if "Kinesis ended the subscription" in r.getMessage()]
    return {message.split(":")[0] for message in ends}


async def test_a_renewal_in_the_middle_loses_and_repeats_nothing(
    server: KinesisServer, kinesis: aiokinesis.Client, clock: ServerClock, caplog: pytest.LogCaptureFixture
) -> None:
    put_direct(server, [f"v{i}" for i in range(200)])
    caplog.set_level(logging.DEBUG, logger="aiokinesis.subscription")
    async with kinesis.consumer("s", start=TRIM, enhanced_fan_out="app", config=FAST) as consumer:
        got = await consume(consumer, 200)
        clock.offset += 301  # Kinesis ends every subscription after 5 minutes
        # The records go in once every shard has renewed: put earlier, some would ride in the last
        # event of a subscription that is ending, and that shard would never renew.
        for _ in range(1000):
            if len(renewed(caplog)) == 4:
                break
            await asyncio.sleep(0.01)
        assert len(renewed(caplog)) == 4  # every shard renewed
        put_direct(server, [f"v{i}" for i in range(200, 400)])
        got += await consume(consumer, 200)
    assert sorted(r.data for r in got) == sorted(f"v{i}".encode() for i in range(400))  # once each
    assert_key_order(got)


async def test_a_split_and_a_merge_hand_over_from_parents_to_children(
    server: KinesisServer, kinesis: aiokinesis.Client
) -> None:
    put_direct(server, [f"v{i}" for i in range(200)])
    async with kinesis.consumer("s", start=TRIM, enhanced_fan_out="app", config=FAST) as consumer:
        got = await consume(consumer, 100)
        stream = server.backend.streams["s"]
        shard0 = stream.shard("shardId-000000000000")
        server.backend.split_shard(stream, shard0, (shard0.start_hash + shard0.end_hash) // 2)
        server.backend.merge_shards(stream, stream.shard("shardId-000000000002"), stream.shard("shardId-000000000003"))
        put_direct(server, [f"v{i}" for i in range(200, 400)])
        got += await consume(consumer, 400 - len(got))
        progress = {p.shard_id: p for p in consumer.progress()}
    assert sorted(r.data for r in got) == sorted(f"v{i}".encode() for i in range(400))
    assert_key_order(got)
    assert len(progress) == 7
    assert all(progress[s].ended for s in ("shardId-000000000000", "shardId-000000000002", "shardId-000000000003"))


async def test_sixty_shards_are_all_read() -> None:
    async with (
        KinesisServer(streams={"s": 60}, limits=Limits(enabled=False)) as wide,
        aiokinesis.Client(endpoint_url=wide.endpoint_url, **LOCAL_KEYS) as client,
    ):
        put_direct(wide, [f"v{i}" for i in range(600)], keys=120)
        async with client.consumer("s", start=TRIM, enhanced_fan_out="app", config=FAST) as consumer:
            got = await consume(consumer, 600, checkpoint=False)
            progress = consumer.progress()
    assert len(progress) == 60
    assert sum(p.records > 0 for p in progress) > 50
    assert sorted(r.data for r in got) == sorted(f"v{i}".encode() for i in range(600))
    assert_key_order(got)


async def test_with_leases_every_record_comes_once(server: KinesisServer, kinesis: aiokinesis.Client) -> None:
    put_direct(server, [f"v{i}" for i in range(200)])
    config = aiokinesis.ConsumerConfig(fan_out=FAN_OUT, list_shards_interval=0.05, failover_time=1.0)
    async with kinesis.consumer(
        "s", leases=InMemoryLeases(), start=TRIM, enhanced_fan_out="app", config=config
    ) as consumer:
        got = await consume(consumer, 200)
        held = [p for p in consumer.progress() if p.held]
    assert len(held) == 4
    assert sorted(r.data for r in got) == sorted(f"v{i}".encode() for i in range(200))
    assert_key_order(got)


async def test_a_deleted_consumer_ends_the_iteration_with_one_clear_error(
    server: KinesisServer, kinesis: aiokinesis.Client, clock: ServerClock
) -> None:
    put_direct(server, [f"v{i}" for i in range(40)])
    async with kinesis.consumer("s", start=TRIM, enhanced_fan_out="app", config=FAST) as consumer:
        await consume(consumer, 40)
        arn = server.backend.streams["s"].consumers["app"].arn
        await kinesis.deregister_stream_consumer(consumer_arn=arn)
        clock.offset += 301  # the open subscriptions end; their renewals find no consumer
        with pytest.raises(aiokinesis.ConsumerDeletedError, match=r"app:.* is gone") as caught:
            await consume(consumer, 1)
    assert caught.value.consumer_arn == arn


async def test_a_missing_stream_fails_the_consumer_on_open(kinesis: aiokinesis.Client) -> None:
    async with kinesis.consumer("nope", enhanced_fan_out="app", config=FAST) as consumer:
        with pytest.raises(aiokinesis.ResourceNotFoundException):
            await consume(consumer, 1)


def test_bad_fan_out_arguments_are_refused_before_anything_is_sent(kinesis: aiokinesis.Client) -> None:
    with pytest.raises(ValueError, match=r"enhanced_fan_out must be 1 to 128 characters .*, not 'a b'"):
        kinesis.consumer("s", enhanced_fan_out="a b")
    with pytest.raises(ValueError, match="enhanced_fan_out must be 1 to 128"):
        kinesis.consumer("s", enhanced_fan_out="x" * 129)
    with pytest.raises(TypeError, match="enhanced_fan_out must be a consumer name"):
        kinesis.consumer("s", enhanced_fan_out=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"deregister_on_close= .* give enhanced_fan_out= too"):
        kinesis.consumer("s", deregister_on_close=True)
    with pytest.raises(TypeError, match="deregister_on_close must be True or False"):
        kinesis.consumer("s", enhanced_fan_out="app", deregister_on_close="yes")  # type: ignore[arg-type]
