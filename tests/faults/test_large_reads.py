"""10 MiB records read back through read_shard and the consumer (polling and enhanced fan-out) from
aiokinesis.testing with AWS's read limits on: byte-identical (sha256), in order, and paced so that
the shard's rule after a large read (the next 5 s throttle after 10 MiB) is waited out, not hit;
two readers sharing a shard do hit it, and read on.

Server and client share one clock. A sleep shorter than 30 s (a reader's pacing, a backoff) moves
it on at once; longer ones (the consumer's shard sync rounds) wait, so the test ends before them.
Writes are unlimited here (their burst is tested in test_producer_large.py): the reads are the point.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import pytest

import aiokinesis
from aiokinesis import StartingPosition
from aiokinesis.testing import KinesisServer, Limits
from tests.conftest import LOCAL_KEYS as KEYS
from tests.fakes import SharedTime

MIB = 1024 * 1024
SHARD = "shardId-000000000000"
TRIM = StartingPosition.trim_horizon()
# Four of 10 MiB (data and key) among small and middling ones: 10 MiB pages, and pages a large
# record cuts short.
SIZES = [10 * MIB - 1, 100, 10 * MIB - 1, 3 * MIB, 50, MIB + 1, 10 * MIB - 1, 20, 10 * MIB - 1, 7]
READ_LIMITS = Limits(write_bytes_per_second=1024 * MIB, write_records_per_second=100_000)


def payload(i: int, size: int) -> bytes:
    """Distinct bytes per record (a swapped or truncated record changes its digest)."""
    return (bytes([i]) + hashlib.sha256(str(i).encode()).digest()) * (size // 33) + b"x" * (size % 33)


@pytest.fixture
def shared() -> SharedTime:
    return SharedTime()


@pytest.fixture
async def server(shared: SharedTime) -> AsyncIterator[KinesisServer]:
    async with KinesisServer(clock=shared.clock, limits=READ_LIMITS) as local:
        local.backend.create_stream("big", 1, max_record_size_kib=10240)
        yield local


@pytest.fixture
async def kinesis(server: KinesisServer, shared: SharedTime) -> AsyncIterator[aiokinesis.Client]:
    async with aiokinesis.Client(
        endpoint_url=server.endpoint_url,
        retry=aiokinesis.RetryConfig(max_attempts=1),
        clock=shared.clock,
        sleep=shared.sleep,
        rand=lambda: 1.0,
        **KEYS,
    ) as client:
        yield client


@pytest.fixture
async def expected(kinesis: aiokinesis.Client) -> list[str]:
    """The records put in order on the one shard; their digests."""
    digests = []
    for i, size in enumerate(SIZES):
        data = payload(i, size)
        await kinesis.put_record(stream_name="big", data=data, partition_key="k")
        digests.append(hashlib.sha256(data).hexdigest())
    return digests


async def test_read_shard_reads_10_mib_records_whole_in_order_without_a_throttle(
    kinesis: aiokinesis.Client, server: KinesisServer, shared: SharedTime, expected: list[str]
) -> None:
    started = shared.now
    got: list[str] = []
    reader = kinesis.read_shard("big", SHARD, start=TRIM)
    async with asyncio.timeout(60):
        async for record in reader:
            got.append(hashlib.sha256(record.data).hexdigest())
            if len(got) == len(SIZES):
                break
    assert got == expected
    assert server.backend.throttled == 0  # paced on the bytes it read: never bounced off the rule
    assert reader.throttles == 0
    # 4 x 10 MiB + 4 MiB at 2 MiB/s: the reader took the shard's read rate, no more and not much less.
    elapsed = shared.now - started
    total = sum(size + 1 for size in SIZES)
    assert total / (2 * MIB) <= elapsed <= total / (2 * MIB) + 1.0


@pytest.mark.parametrize("fan_out", [None, "app"], ids=["polling", "enhanced-fan-out"])
async def test_the_consumer_reads_10_mib_records_whole_and_in_order(
    kinesis: aiokinesis.Client, server: KinesisServer, fan_out: str | None, expected: list[str]
) -> None:
    got: list[str] = []
    async with (
        asyncio.timeout(60),
        kinesis.consumer("big", start=TRIM, enhanced_fan_out=fan_out) as consumer,
    ):
        async for batch in consumer:
            got.extend(hashlib.sha256(r.data).hexdigest() for r in batch.records)
            if len(got) >= len(SIZES):
                break
    assert got == expected
    assert server.backend.throttled == 0


async def test_two_readers_of_one_shard_meet_the_throttle_after_large_reads_and_read_on(
    kinesis: aiokinesis.Client, server: KinesisServer, expected: list[str]
) -> None:
    # Each paces itself on what it read, not on what the other did: the shard's 2 MiB/s is shared,
    # so after a 10 MiB page of one the other is refused (AWS's 5 s rule), backs off and reads on.
    async def read() -> tuple[list[str], int]:
        reader = kinesis.read_shard("big", SHARD, start=TRIM)
        got: list[str] = []
        async for record in reader:
            got.append(hashlib.sha256(record.data).hexdigest())
            if len(got) == len(SIZES):
                break
        return got, reader.throttles

    async with asyncio.timeout(60):
        (first, first_throttles), (second, second_throttles) = await asyncio.gather(read(), read())
    assert first == second == expected
    assert server.backend.throttled > 0
    assert first_throttles + second_throttles == server.backend.throttled
