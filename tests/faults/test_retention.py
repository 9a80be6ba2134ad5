"""aiokinesis.testing trims records its stream's retention period passed, on the server's clock:
iterators, MillisBehindLatest, expired closed shards and queues follow, and memory stays flat."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

import aiokinesis
from aiokinesis import ShardIteratorType as Type
from aiokinesis.testing import Backend, KinesisServer, Limits
from aiokinesis.testing._state import Subscription
from tests.fakes import FakeTime

HOUR = 3600.0
DAY = 24 * HOUR
SHARD = "shardId-000000000000"


@pytest.fixture
async def server(fake_time: FakeTime) -> AsyncIterator[KinesisServer]:
    async with KinesisServer(streams={"s": 1}, limits=Limits(enabled=False), clock=fake_time.clock) as local:
        local.backend.create_stream("od", 1, mode="ON_DEMAND")
        yield local


async def put(kinesis: aiokinesis.Client, *values: str, stream: str = "s") -> list[str]:
    entries = [aiokinesis.PutRecordsRequestEntry(data=v.encode(), partition_key="k") for v in values]
    answer = await kinesis.put_records(stream_name=stream, records=entries)
    return [str(r.sequence_number) for r in answer.records]


async def iterator(kinesis: aiokinesis.Client, kind: Type, sequence: str | None = None, shard: str = SHARD) -> str:
    got = await kinesis.get_shard_iterator(
        stream_name="s", shard_id=shard, shard_iterator_type=kind, starting_sequence_number=sequence
    )
    assert got.shard_iterator is not None
    return got.shard_iterator


async def read(kinesis: aiokinesis.Client, token: str, limit: int | None = None) -> tuple[list[str], int]:
    got = await kinesis.get_records(shard_iterator=token, limit=limit)
    return [r.data.decode() for r in got.records], got.millis_behind_latest or 0


async def test_records_leave_when_their_age_reaches_the_retention_period(
    kinesis: aiokinesis.Client, server: KinesisServer, fake_time: FakeTime
) -> None:
    await put(kinesis, "a", "b")
    fake_time.advance(12 * HOUR)
    await put(kinesis, "c", "d")
    fake_time.advance(12 * HOUR - 1)
    assert (await read(kinesis, await iterator(kinesis, Type.TRIM_HORIZON)))[0] == ["a", "b", "c", "d"]
    fake_time.advance(1)  # a and b are 24 h old
    # MillisBehindLatest: the age of the next record kept (d, 12 h), not of one that is gone.
    assert await read(kinesis, await iterator(kinesis, Type.TRIM_HORIZON), limit=1) == (["c"], int(12 * HOUR * 1000))
    assert len(server.backend.streams["s"].shards[0].records) == 2  # freed, not hidden
    summary = (await kinesis.describe_stream_summary(stream_name="s")).stream_description_summary
    assert summary.retention_period_hours == 24


async def test_an_iterator_over_records_that_expire_reads_from_the_oldest_kept(
    kinesis: aiokinesis.Client, fake_time: FakeTime
) -> None:
    first, second, _ = await put(kinesis, "a", "b", "c")
    fake_time.advance(1)
    await put(kinesis, "d", "e")
    fake_time.advance(DAY - 60)
    horizon = await iterator(kinesis, Type.TRIM_HORIZON)  # at "a", which expires within its 5 minutes
    at_second = await iterator(kinesis, Type.AT_SEQUENCE_NUMBER, second)
    fake_time.advance(59.5)  # a, b and c expire; d and e are kept
    assert await read(kinesis, horizon, limit=1) == (["d"], int((DAY - 0.5) * 1000))
    assert (await read(kinesis, at_second))[0] == ["d", "e"]
    # New iterators at or after a record that is gone start at the oldest record kept, as AT_TIMESTAMP
    # before the trim horizon does.
    for kind, sequence in ((Type.AT_SEQUENCE_NUMBER, first), (Type.AFTER_SEQUENCE_NUMBER, first)):
        assert (await read(kinesis, await iterator(kinesis, kind, sequence)))[0] == ["d", "e"]
    old = await kinesis.get_shard_iterator(
        stream_name="s",
        shard_id=SHARD,
        shard_iterator_type=Type.AT_TIMESTAMP,
        timestamp=datetime.fromtimestamp(fake_time.now - 2 * DAY, UTC),
    )
    assert old.shard_iterator is not None
    assert (await read(kinesis, old.shard_iterator))[0] == ["d", "e"]
    latest = await iterator(kinesis, Type.LATEST)
    await put(kinesis, "f")
    assert await read(kinesis, latest) == (["f"], 0)


async def test_decreasing_retention_drops_older_records_and_increasing_brings_none_back(
    kinesis: aiokinesis.Client, server: KinesisServer, fake_time: FakeTime
) -> None:
    await kinesis.increase_stream_retention_period(stream_name="s", retention_period_hours=48)
    await put(kinesis, "old")
    fake_time.advance(30 * HOUR)
    await put(kinesis, "new")
    assert (await read(kinesis, await iterator(kinesis, Type.TRIM_HORIZON)))[0] == ["old", "new"]
    await kinesis.decrease_stream_retention_period(stream_name="s", retention_period_hours=24)
    assert (await read(kinesis, await iterator(kinesis, Type.TRIM_HORIZON)))[0] == ["new"]
    await kinesis.increase_stream_retention_period(stream_name="s", retention_period_hours=72)
    assert (await read(kinesis, await iterator(kinesis, Type.TRIM_HORIZON)))[0] == ["new"]
    fake_time.advance(60 * HOUR)  # "new" is 60 h old: kept under 72 h
    assert (await read(kinesis, await iterator(kinesis, Type.TRIM_HORIZON)))[0] == ["new"]


async def test_a_closed_shard_disappears_once_its_records_have_expired(
    kinesis: aiokinesis.Client, fake_time: FakeTime
) -> None:
    await put(kinesis, "parent")
    await kinesis.split_shard(stream_name="s", shard_to_split=SHARD, new_starting_hash_key=str(2**127))
    fake_time.advance(1)
    await put(kinesis, "child")
    shards = {s.shard_id: s for s in (await kinesis.list_shards(stream_name="s")).shards or []}
    assert sorted(shards) == [SHARD, "shardId-000000000001", "shardId-000000000002"]
    fake_time.advance(DAY - 1)  # the parent closed 24 h ago
    listed = (await kinesis.list_shards(stream_name="s")).shards or []
    assert [s.shard_id for s in listed] == ["shardId-000000000001", "shardId-000000000002"]
    assert {s.parent_shard_id for s in listed} == {SHARD}  # children keep their lineage
    described = (await kinesis.describe_stream(stream_name="s")).stream_description.shards
    assert [s.shard_id for s in described] == ["shardId-000000000001", "shardId-000000000002"]
    with pytest.raises(aiokinesis.ResourceNotFoundException, match=f"Shard {SHARD}"):
        await iterator(kinesis, Type.TRIM_HORIZON)
    child = next(s.shard_id for s in listed if s.shard_id != SHARD)
    records = []
    for shard in (s.shard_id for s in listed):
        records += (await read(kinesis, await iterator(kinesis, Type.TRIM_HORIZON, shard=shard)))[0]
    assert records == ["child"], child


async def test_a_queue_drops_what_retention_passed_and_delivers_what_followed(
    kinesis: aiokinesis.Client, server: KinesisServer, fake_time: FakeTime
) -> None:
    """The queue's place in a shard counts records retention dropped: it delivers the records kept,
    none twice and none skipped."""
    position = aiokinesis.QueueStartingPosition(type="TRIM_HORIZON")
    arn = (
        await kinesis.create_queue(
            queue_name="q",
            stream_configuration_list=[
                aiokinesis.QueueStreamConfiguration(
                    stream_arn=server.backend.streams["od"].arn, starting_position=position
                )
            ],
        )
    ).queue_description.queue_arn
    await put(kinesis, *(f"early-{n}" for n in range(5)), stream="od")
    first = await kinesis.receive_queue_records(queue_arn=arn, limit=2, wait_time_seconds=1)
    assert [r.data for r in first.queue_records] == [b"early-0", b"early-1"]
    fake_time.advance(12 * HOUR)
    await put(kinesis, "late-0", "late-1", "late-2", stream="od")
    fake_time.advance(12 * HOUR)  # the five early records (two of them received, none acknowledged) expire
    got = await kinesis.receive_queue_records(queue_arn=arn, limit=10, wait_time_seconds=1)
    assert [r.data for r in got.queue_records] == [b"late-0", b"late-1", b"late-2"]
    ack = [aiokinesis.AcknowledgeQueueRecordsRequestEntry(receipt_handle=r.receipt_handle) for r in first.queue_records]
    acked = await kinesis.acknowledge_queue_records(queue_arn=arn, entries=ack)
    assert {f.error_code for f in acked.failed} == {"ResourceNotFoundException"}  # past the stream's retention


def test_a_subscription_resumes_after_the_records_it_sent_expired(fake_time: FakeTime) -> None:
    """ContinuationSequenceNumber stays the last record sent after retention drops it, so a renewed
    subscription (AFTER_SEQUENCE_NUMBER it) neither repeats nor skips."""
    backend = Backend(clock=fake_time.clock, limits=Limits(enabled=False))
    backend.create_stream("s", 1)
    arn = backend.streams["s"].arn
    consumer = backend.RegisterStreamConsumer({"StreamARN": arn, "ConsumerName": "c"})["Consumer"]["ConsumerARN"]

    def put_direct(value: bytes) -> str:
        return str(
            backend.PutRecord({"StreamName": "s", "Data": base64.b64encode(value).decode(), "PartitionKey": "k"})[
                "SequenceNumber"
            ]
        )

    def subscribe(start: dict[str, str]) -> Subscription:
        return backend.subscribe({"ConsumerARN": consumer, "ShardId": SHARD, "StartingPosition": start})

    put_direct(b"a")
    last = put_direct(b"b")
    subscription = subscribe({"Type": "TRIM_HORIZON"})
    event, _ = backend.next_event(subscription)
    assert (len(event["Records"]), event["ContinuationSequenceNumber"]) == (2, last)
    fake_time.advance(DAY)
    backend.advance()
    event, _ = backend.next_event(subscription)
    assert (event["Records"], event["ContinuationSequenceNumber"]) == ([], last)
    newest = put_direct(b"c")
    fake_time.advance(5)
    renewed = subscribe({"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last})
    event, _ = backend.next_event(renewed)
    assert [r["SequenceNumber"] for r in event["Records"]] == [newest]


async def test_a_long_run_holds_flat_memory(
    kinesis: aiokinesis.Client, server: KinesisServer, fake_time: FakeTime
) -> None:
    """200 virtual hours of puts, 20 records every 30 minutes, with 24 h of retention: the server
    holds at most a day of records, and a queue that never acknowledges at most a day of deliveries
    (dead letters included), at any time; the resharded stream's parent goes too."""
    await kinesis.split_shard(stream_name="s", shard_to_split=SHARD, new_starting_hash_key=str(2**127))
    position = aiokinesis.QueueStartingPosition(type="TRIM_HORIZON")
    config = aiokinesis.QueueStreamConfiguration(
        stream_arn=server.backend.streams["od"].arn, starting_position=position
    )
    queue_arn = (
        await kinesis.create_queue(queue_name="q", stream_configuration_list=[config])
    ).queue_description.queue_arn
    per_put, step = 20, 0.5 * HOUR
    steps_a_day = int(DAY / step)
    backend = server.backend
    most = 0
    for n in range(int(200 * HOUR / step)):
        await put(kinesis, *(f"{n}-{i}" for i in range(per_put)))
        await put(kinesis, "q", stream="od")
        await kinesis.receive_queue_records(queue_arn=queue_arn, limit=10, wait_time_seconds=1)  # never acked
        await kinesis.get_records(
            shard_iterator=await iterator(kinesis, Type.TRIM_HORIZON, shard="shardId-000000000001")
        )
        held = sum(len(shard.records) for stream in backend.streams.values() for shard in stream.shards)
        most = max(most, held)
        assert held <= (per_put + 1) * (steps_a_day + 1), n
        assert len(backend.queues[queue_arn].deliveries) <= steps_a_day + 1, n
        fake_time.advance(step)
    assert most > per_put * steps_a_day  # a day's worth was held at the peak: it filled, then stayed flat
    assert len(backend.queues[queue_arn].deliveries) >= steps_a_day - 1
    shards = backend.streams["s"].shards
    assert [s.shard_id for s in shards] == ["shardId-000000000001", "shardId-000000000002"]  # the parent expired
    assert all(len(s.sequences) == len(s.records) for s in shards)
