"""Every fault of aiokinesis.testing, seen from the client side; limits on an injected clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

import aiokinesis
from aiokinesis import PutRecordsRequestEntry as Entry
from aiokinesis.testing import Fault, FaultKind, KinesisServer, Limits
from tests.conftest import LOCAL_KEYS as KEYS
from tests.fakes import FakeTime

STREAM = "faulty"


@pytest.fixture
async def server(fake_time: FakeTime) -> AsyncIterator[KinesisServer]:
    async with KinesisServer(streams={STREAM: 2}, clock=fake_time.clock, seed=7) as local:
        yield local


def client(server: KinesisServer, fake_time: FakeTime, **options: Any) -> aiokinesis.Client:
    return aiokinesis.Client(
        endpoint_url=server.endpoint_url,
        clock=fake_time.clock,
        sleep=fake_time.sleep,
        rand=lambda: 1.0,
        **KEYS,
        **options,
    )


async def iterator(kinesis: aiokinesis.Client, shard: str = "shardId-000000000000") -> str:
    out = await kinesis.get_shard_iterator(stream_name=STREAM, shard_id=shard, shard_iterator_type="TRIM_HORIZON")
    assert out.shard_iterator is not None
    return out.shard_iterator


async def test_throttled_reads_are_retried_until_they_pass(server: KinesisServer, fake_time: FakeTime) -> None:
    fault = server.inject(Fault(kind=FaultKind.THROTTLE, operation="GetRecords", times=2))
    async with client(server, fake_time) as kinesis:
        page = await kinesis.get_records(shard_iterator=await iterator(kinesis))
    assert page.records == []
    assert fault.fired == 2
    assert server.backend.throttled == 0  # injected, not the limits
    assert fake_time.sleeps == [1.0, 2.0]


async def test_a_throttling_storm_on_one_shard_leaves_the_other_flowing(
    server: KinesisServer, fake_time: FakeTime
) -> None:
    server.inject(Fault(kind=FaultKind.THROTTLE, operation="GetRecords", shard="shardId-000000000000", times=None))
    async with client(server, fake_time) as kinesis:
        await kinesis.get_records(shard_iterator=await iterator(kinesis, "shardId-000000000001"))
        with pytest.raises(aiokinesis.ProvisionedThroughputExceededException):
            await kinesis.get_records(shard_iterator=await iterator(kinesis, "shardId-000000000000"))


async def test_control_plane_throttling_is_limit_exceeded(server: KinesisServer, fake_time: FakeTime) -> None:
    server.inject(Fault(kind=FaultKind.THROTTLE, operation="DescribeStreamSummary", times=None))
    async with client(server, fake_time, retry=aiokinesis.RetryConfig(max_attempts=1)) as kinesis:
        with pytest.raises(aiokinesis.LimitExceededException):
            await kinesis.describe_stream_summary(stream_name=STREAM)
        server.faults.clear()
        server.inject(Fault(kind=FaultKind.LIMIT_EXCEEDED, operation="ListShards"))
        with pytest.raises(aiokinesis.LimitExceededException):
            await kinesis.list_shards(stream_name=STREAM)


async def test_partial_failures_fail_some_entries_and_keep_the_rest(server: KinesisServer, fake_time: FakeTime) -> None:
    server.inject(Fault(kind=FaultKind.PARTIAL_FAILURE, operation="PutRecords", share=0.2))
    entries = [Entry(data=f"{i}".encode(), partition_key=f"k{i}") for i in range(100)]
    async with client(server, fake_time) as kinesis:
        out = await kinesis.put_records(stream_name=STREAM, records=entries)
        failed = [i for i, r in enumerate(out.records) if r.error_code is not None]
        assert out.failed_record_count == len(failed)
        assert 5 <= len(failed) <= 40
        assert {out.records[i].error_code for i in failed} == {"InternalFailure"}
        stored = {r.data for shard in server.backend.streams[STREAM].shards for r in shard.records}
        assert stored == {entries[i].data for i in range(100) if i not in failed}


async def test_seeded_faults_repeat_exactly(fake_time: FakeTime) -> None:
    failures: list[list[int]] = []
    for _ in range(2):
        async with KinesisServer(streams={STREAM: 1}, clock=fake_time.clock, seed=42) as local:
            local.inject(Fault(kind=FaultKind.PARTIAL_FAILURE, operation="PutRecords", share=0.3))
            async with client(local, fake_time) as kinesis:
                out = await kinesis.put_records(
                    stream_name=STREAM, records=[Entry(data=b"x", partition_key=str(i)) for i in range(50)]
                )
            failures.append([i for i, r in enumerate(out.records) if r.error_code])
    assert failures[0] == failures[1]
    assert failures[0]


async def test_throttling_a_put_records_fails_that_shards_entries_only(
    server: KinesisServer, fake_time: FakeTime
) -> None:
    server.inject(Fault(kind=FaultKind.THROTTLE, operation="PutRecords", shard="shardId-000000000001"))
    async with client(server, fake_time) as kinesis:
        out = await kinesis.put_records(
            stream_name=STREAM, records=[Entry(data=b"x", partition_key=f"k{i}") for i in range(40)]
        )
    by_shard = {r.shard_id for r in out.records if r.error_code is None}
    assert by_shard == {"shardId-000000000000"}
    assert {r.error_code for r in out.records if r.error_code} == {"ProvisionedThroughputExceededException"}
    assert out.failed_record_count is not None
    assert 0 < out.failed_record_count < 40


@pytest.mark.parametrize("kind", [FaultKind.INTERNAL_FAILURE, FaultKind.SERVICE_UNAVAILABLE])
async def test_5xx_are_retried(kind: FaultKind, server: KinesisServer, fake_time: FakeTime) -> None:
    server.inject(Fault(kind=kind, operation="PutRecord", times=2))
    async with client(server, fake_time) as kinesis:
        out = await kinesis.put_record(stream_name=STREAM, data=b"x", partition_key="k")
    assert out.sequence_number
    assert fake_time.sleeps == [0.05, 0.1]


async def test_5xx_surface_when_they_persist(server: KinesisServer, fake_time: FakeTime) -> None:
    server.inject(Fault(kind=FaultKind.SERVICE_UNAVAILABLE, times=None))
    async with client(server, fake_time) as kinesis:
        with pytest.raises(aiokinesis.ServiceError) as caught:
            await kinesis.describe_limits()
    assert caught.value.status == 503
    assert caught.value.retryable


async def test_a_reset_after_processing_can_duplicate_on_retry(server: KinesisServer, fake_time: FakeTime) -> None:
    server.inject(Fault(kind=FaultKind.RESET_BEFORE_RESPONSE, operation="PutRecord"))
    async with client(server, fake_time) as kinesis:
        await kinesis.put_record(stream_name=STREAM, data=b"once", partition_key="k")
    stored = [r.data for shard in server.backend.streams[STREAM].shards for r in shard.records]
    assert stored == [b"once", b"once"]  # why ConnectionLostError.may_have_reached_server exists


@pytest.mark.parametrize(
    "kind", [FaultKind.RESET_BEFORE_RESPONSE, FaultKind.RESET_MID_RESPONSE, FaultKind.TRUNCATED_BODY]
)
async def test_broken_answers_are_connection_lost(kind: FaultKind, server: KinesisServer, fake_time: FakeTime) -> None:
    server.inject(Fault(kind=kind, operation="DescribeStreamSummary"))
    async with client(server, fake_time, retry=aiokinesis.RetryConfig(max_attempts=1)) as kinesis:
        with pytest.raises(aiokinesis.ConnectionLostError) as caught:
            await kinesis.describe_stream_summary(stream_name=STREAM)
        assert caught.value.may_have_reached_server
        assert (
            await kinesis.describe_stream_summary(stream_name=STREAM)
        ).stream_description_summary.stream_name == STREAM


async def test_slow_answers_time_out(server: KinesisServer, fake_time: FakeTime) -> None:
    server.inject(Fault(kind=FaultKind.SLOW, operation="DescribeLimits", delay=0.5))
    options = {"retry": aiokinesis.RetryConfig(max_attempts=1), "http": aiokinesis.HttpConfig(read_timeout=0.05)}
    async with client(server, fake_time, **options) as kinesis:
        with pytest.raises(aiokinesis.RequestTimeoutError):
            await kinesis.describe_limits()


async def test_an_expired_iterator_is_not_retried(server: KinesisServer, fake_time: FakeTime) -> None:
    server.inject(Fault(kind=FaultKind.EXPIRED_ITERATOR, operation="GetRecords"))
    async with client(server, fake_time) as kinesis:
        it = await iterator(kinesis)
        with pytest.raises(aiokinesis.ExpiredIteratorException):
            await kinesis.get_records(shard_iterator=it)
    assert fake_time.sleeps == []


async def test_iterators_expire_after_five_minutes(server: KinesisServer, fake_time: FakeTime) -> None:
    async with client(server, fake_time) as kinesis:
        it = await iterator(kinesis)
        fake_time.advance(299)
        page = await kinesis.get_records(shard_iterator=it)
        assert page.next_shard_iterator is not None
        fake_time.advance(301)
        with pytest.raises(aiokinesis.ExpiredIteratorException):
            await kinesis.get_records(shard_iterator=page.next_shard_iterator)


async def test_list_shards_survives_an_expired_next_token(fake_time: FakeTime) -> None:
    async with KinesisServer(streams={STREAM: 6}, clock=fake_time.clock) as local, client(local, fake_time) as kinesis:
        seen = []
        async for shard in kinesis.paginate.list_shards(stream_name=STREAM, max_results=2):
            seen.append(shard.shard_id)
            if len(seen) == 2:
                fake_time.advance(301)  # the token in hand expires before the next page
    assert seen == [f"shardId-{n:012d}" for n in range(6)]


async def test_write_limits_per_shard(fake_time: FakeTime) -> None:
    async with KinesisServer(streams={STREAM: 1}, clock=fake_time.clock) as local, client(local, fake_time) as kinesis:
        batch = [Entry(data=b"x" * 10, partition_key=str(i)) for i in range(500)]
        for _ in range(2):
            assert (await kinesis.put_records(stream_name=STREAM, records=batch)).failed_record_count == 0
        third = await kinesis.put_records(stream_name=STREAM, records=batch)
        assert third.failed_record_count == 500  # 1000 records/s spent
        assert local.backend.throttled == 500
        fake_time.advance(0.5)
        assert (await kinesis.put_records(stream_name=STREAM, records=batch)).failed_record_count == 0

        fake_time.advance(1)
        big = b"x" * (1024 * 1024 - 10)
        await kinesis.put_record(stream_name=STREAM, data=big, partition_key="k")
        assert fake_time.sleeps == []
        # 1 MiB/s spent: throttled, and the 1 s throttling backoff (on the shared clock) refills it.
        await kinesis.put_record(stream_name=STREAM, data=big, partition_key="k")
        assert fake_time.sleeps == [1.0]
        assert local.backend.throttled == 501


async def test_read_limits_per_shard(fake_time: FakeTime) -> None:
    async with (
        KinesisServer(streams={STREAM: 1}, clock=fake_time.clock) as local,
        client(local, fake_time, retry=aiokinesis.RetryConfig(max_attempts=1)) as kinesis,
    ):
        it = await iterator(kinesis)
        for _ in range(5):
            it = (await kinesis.get_records(shard_iterator=it)).next_shard_iterator or it
        with pytest.raises(aiokinesis.ProvisionedThroughputExceededException):
            await kinesis.get_records(shard_iterator=it)  # 5 calls/s
        fake_time.advance(0.2)
        await kinesis.get_records(shard_iterator=it)
    assert local.backend.throttled == 1


async def test_a_10_mib_read_throttles_the_shard_for_seconds(fake_time: FakeTime) -> None:
    limits = Limits(write_bytes_per_second=64 * 1024 * 1024, write_records_per_second=10_000)
    async with (
        KinesisServer(streams={STREAM: 1}, clock=fake_time.clock, limits=limits) as local,
        client(local, fake_time, retry=aiokinesis.RetryConfig(max_attempts=1)) as kinesis,
    ):
        record = b"x" * (1024 * 1024 - 1)
        for i in range(12):
            await kinesis.put_record(stream_name=STREAM, data=record, partition_key=str(i % 10))
        page = await kinesis.get_records(shard_iterator=await iterator(kinesis))
        assert len(page.records) == 10  # capped at 10 MiB
        assert page.next_shard_iterator is not None
        fake_time.advance(1)
        with pytest.raises(aiokinesis.ProvisionedThroughputExceededException):
            await kinesis.get_records(shard_iterator=page.next_shard_iterator)
        fake_time.advance(4)
        assert len((await kinesis.get_records(shard_iterator=page.next_shard_iterator)).records) == 2


async def test_a_reshard_at_a_chosen_moment_ends_the_parent(server: KinesisServer, fake_time: FakeTime) -> None:
    async with client(server, fake_time) as kinesis:
        await kinesis.put_record(stream_name=STREAM, data=b"before", partition_key="k", explicit_hash_key="0")
        it = await iterator(kinesis)
        stream = server.backend.streams[STREAM]
        low, high = server.backend.split_shard(stream, stream.shard("shardId-000000000000"), 2**126)
        page = await kinesis.get_records(shard_iterator=it)
        assert [r.data for r in page.records] == [b"before"]
        assert page.next_shard_iterator is None
        assert page.child_shards is not None
        assert sorted(c.shard_id for c in page.child_shards) == sorted([low.shard_id, high.shard_id])


def test_faults_are_validated() -> None:
    with pytest.raises(ValueError, match="probability"):
        Fault(kind=FaultKind.THROTTLE, probability=2)
    with pytest.raises(ValueError, match="times"):
        Fault(kind=FaultKind.THROTTLE, times=0)


@pytest.mark.parametrize("hash_key", ["\u00b2", "1\u00b9", "1\u0663", "9" * 60, "-1"])
async def test_a_bad_hash_key_is_refused_while_a_fault_is_pending(hash_key: str, server: KinesisServer) -> None:
    # A pending fault has each PutRecord(s) placed on its shards first, to target it: "²" is a
    # digit to str.isdigit() but no decimal to int(). Sent raw: the client refuses these itself.
    server.inject(Fault(kind=FaultKind.THROTTLE, operation="GetRecords", times=None))
    entry = {"Data": "eA==", "PartitionKey": "k", "ExplicitHashKey": hash_key}
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    async with aiohttp.ClientSession() as http:
        for operation, body in (("PutRecord", entry), ("PutRecords", {"Records": [entry]})):
            target = {"X-Amz-Target": f"Kinesis_20131202.{operation}"}
            data = orjson.dumps({"StreamName": STREAM, **body})
            async with http.post(server.endpoint_url, data=data, headers={**headers, **target}) as answer:
                assert answer.status == 400, operation
                assert (await answer.json(content_type=None))["__type"] == "InvalidArgumentException"
