"""The shard reader against aiokinesis.testing on a fake clock: pacing, backoff, expiry, shard end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

import aiokinesis
from aiokinesis import StartingPosition
from aiokinesis.aggregation import UserRecord, aggregate
from aiokinesis.testing import Fault, FaultKind, KinesisServer
from tests.conftest import LOCAL_KEYS as KEYS
from tests.fakes import FakeTime

SHARD = "shardId-000000000000"


@pytest.fixture
async def server(fake_time: FakeTime) -> AsyncIterator[KinesisServer]:
    async with KinesisServer(streams={"s": 1}, clock=fake_time.clock, seed=1) as local:
        yield local


@pytest.fixture
async def kinesis(server: KinesisServer, fake_time: FakeTime) -> AsyncIterator[aiokinesis.Client]:
    async with aiokinesis.Client(
        endpoint_url=server.endpoint_url, clock=fake_time.clock, sleep=fake_time.sleep, rand=lambda: 1.0, **KEYS
    ) as client:
        yield client


async def put(kinesis: aiokinesis.Client, *values: str) -> list[str]:
    return [
        (await kinesis.put_record(stream_name="s", data=value.encode(), partition_key="k")).sequence_number
        for value in values
    ]


async def take(reader: aiokinesis.ShardReader, count: int) -> list[aiokinesis.ShardRecord]:
    got: list[aiokinesis.ShardRecord] = []
    async for record in reader:
        got.append(record)
        if len(got) == count:
            break
    return got


async def test_reads_every_record_in_order_with_its_shard(kinesis: aiokinesis.Client) -> None:
    sequences = await put(kinesis, *(f"r{i}" for i in range(25)))
    reader = kinesis.read_shard(
        "s", SHARD, start=StartingPosition.trim_horizon(), config=aiokinesis.ReaderConfig(limit=10)
    )
    got = await take(reader, 25)
    assert [r.data for r in got] == [f"r{i}".encode() for i in range(25)]
    assert [r.sequence_number for r in got] == sequences
    assert {(r.shard_id, r.sub_sequence_number, r.aggregated) for r in got} == {(SHARD, 0, False)}
    assert reader.last_sequence_number == sequences[-1]


async def test_pacing_keeps_to_five_calls_a_second(kinesis: aiokinesis.Client, fake_time: FakeTime) -> None:
    await put(kinesis, *(f"r{i}" for i in range(30)))
    reader = kinesis.read_shard(
        "s", SHARD, start=StartingPosition.trim_horizon(), config=aiokinesis.ReaderConfig(limit=10)
    )
    for _ in range(3):
        assert await reader.next_batch() is not None
    assert fake_time.sleeps == pytest.approx([0.2, 0.2])  # behind the tip: again at once, but paced


async def test_an_idle_shard_is_polled_at_the_idle_interval(server: KinesisServer, fake_time: FakeTime) -> None:
    """Caught up and empty: the next read waits the idle interval; a record arriving later is read."""
    arrived: list[str] = []

    async def sleep_then_maybe_put(seconds: float) -> None:
        await fake_time.sleep(seconds)
        if fake_time.now - started >= 5 and not arrived:
            arrived.append("late")
            server.backend.PutRecord({"StreamName": "s", "Data": "bGF0ZQ==", "PartitionKey": "k"})

    started = fake_time.now
    async with aiokinesis.Client(
        endpoint_url=server.endpoint_url, clock=fake_time.clock, sleep=sleep_then_maybe_put, **KEYS
    ) as kinesis:
        reader = kinesis.read_shard(
            "s", SHARD, start=StartingPosition.latest(), config=aiokinesis.ReaderConfig(idle_interval=2.5)
        )
        batch = await reader.next_batch()
    assert batch is not None
    assert [r.data for r in batch.records] == [b"late"]
    assert fake_time.sleeps == [2.5, 2.5]


async def test_a_big_read_waits_its_share_of_the_read_limit(kinesis: aiokinesis.Client, fake_time: FakeTime) -> None:
    for i in range(4):
        await kinesis.put_record(stream_name="s", data=bytes(1024 * 1024 - 10), partition_key=str(i))
    reader = kinesis.read_shard(
        "s", SHARD, start=StartingPosition.trim_horizon(), config=aiokinesis.ReaderConfig(limit=2)
    )
    await reader.next_batch()
    fake_time.sleeps.clear()
    await reader.next_batch()
    assert fake_time.sleeps == [pytest.approx(2 * (1024 * 1024 - 10) / (2 * 1024 * 1024))]


async def test_a_throttled_shard_backs_off_and_loses_nothing(
    kinesis: aiokinesis.Client, server: KinesisServer, fake_time: FakeTime
) -> None:
    await put(kinesis, "a", "b")
    fault = server.inject(Fault(kind=FaultKind.THROTTLE, operation="GetRecords", times=4))
    reader = kinesis.read_shard("s", SHARD, start=StartingPosition.trim_horizon())
    assert [r.data for r in await take(reader, 2)] == [b"a", b"b"]
    assert fault.fired == 4
    assert reader.throttles == 1  # the client's own 3 attempts, then the reader's backoff
    assert fake_time.sleeps[:3] == [1.0, 2.0, 1.0]


async def test_an_expired_iterator_resumes_after_the_last_record(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    await put(kinesis, *(f"r{i}" for i in range(10)))
    reader = kinesis.read_shard(
        "s", SHARD, start=StartingPosition.trim_horizon(), config=aiokinesis.ReaderConfig(limit=4)
    )
    first = await take(reader, 4)
    server.inject(Fault(kind=FaultKind.EXPIRED_ITERATOR, operation="GetRecords"))
    rest = await take(reader, 6)
    assert [r.data for r in first + rest] == [f"r{i}".encode() for i in range(10)]  # nothing lost or repeated


async def test_an_expired_iterator_before_any_record_resumes_from_the_start(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    server.inject(Fault(kind=FaultKind.EXPIRED_ITERATOR, operation="GetRecords"))
    await put(kinesis, "only")
    reader = kinesis.read_shard("s", SHARD, start=StartingPosition.trim_horizon())
    assert [r.data for r in await take(reader, 1)] == [b"only"]


async def test_transient_errors_are_retried_without_end(kinesis: aiokinesis.Client, server: KinesisServer) -> None:
    await put(kinesis, "x")
    server.inject(Fault(kind=FaultKind.INTERNAL_FAILURE, operation="GetRecords", times=7))
    server.inject(Fault(kind=FaultKind.RESET_MID_RESPONSE, operation="GetRecords", times=2))
    reader = kinesis.read_shard("s", SHARD, start=StartingPosition.trim_horizon())
    assert [r.data for r in await take(reader, 1)] == [b"x"]
    assert reader.retries == 3


async def test_errors_retrying_cannot_mend_are_raised(kinesis: aiokinesis.Client, server: KinesisServer) -> None:
    reader = kinesis.read_shard("s", "shardId-000000000099", start=StartingPosition.trim_horizon())
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await reader.next_batch()


async def test_the_reader_ends_at_the_shard_end_with_its_children(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    await put(kinesis, "before-1", "before-2")
    stream = server.backend.streams["s"]
    low, high = server.backend.split_shard(stream, stream.shard(SHARD), 2**127)
    reader = kinesis.read_shard("s", SHARD, start=StartingPosition.trim_horizon())
    assert [r.data async for r in reader] == [b"before-1", b"before-2"]
    assert reader.ended
    assert reader.child_shards is not None
    assert sorted(c.shard_id for c in reader.child_shards) == sorted([low.shard_id, high.shard_id])
    assert await reader.next_batch() is None


async def test_kpl_aggregates_come_out_as_user_records(kinesis: aiokinesis.Client) -> None:
    users = [UserRecord(f"user-{i % 3}", None if i % 2 else "7", f"u{i}".encode()) for i in range(5)]
    outer = (await kinesis.put_record(stream_name="s", data=aggregate(users), partition_key="user-0")).sequence_number
    corrupt = aggregate(users)[:-1] + b"\x00"
    await kinesis.put_record(stream_name="s", data=corrupt, partition_key="plain")
    got = await take(kinesis.read_shard("s", SHARD, start=StartingPosition.trim_horizon()), 6)
    assert [(r.partition_key, r.explicit_hash_key, r.data) for r in got[:5]] == [
        (u.partition_key, u.explicit_hash_key, u.data) for u in users
    ]
    assert [(r.sequence_number, r.sub_sequence_number, r.aggregated) for r in got[:5]] == [
        (outer, i, True) for i in range(5)
    ]
    assert (got[5].data, got[5].partition_key, got[5].aggregated) == (corrupt, "plain", False)  # bad MD5: plain


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (lambda seqs: StartingPosition.at_sequence_number(seqs[1]), [b"b", b"c"]),
        (lambda seqs: StartingPosition.after_sequence_number(seqs[1]), [b"c"]),
    ],
)
async def test_starting_positions(start: Any, expected: list[bytes], kinesis: aiokinesis.Client) -> None:
    sequences = await put(kinesis, "a", "b", "c")
    reader = kinesis.read_shard("s", SHARD, start=start(sequences))
    assert [r.data for r in await take(reader, len(expected))] == expected


def test_reader_config_is_checked() -> None:
    with pytest.raises(ValueError, match="limit"):
        aiokinesis.ReaderConfig(limit=0)
