"""The producer on large-record and AUTO streams of aiokinesis.testing (now that it has them): paced
within a shard's burst, full 10 MiB requests, limits changed while it runs, keyless records."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

import aiokinesis
from aiokinesis import ProducerConfig
from aiokinesis.testing import ApiError, Fault, FaultKind, KinesisServer, Limits
from tests.fakes import VirtualTime
from tests.faults.backend_calls import call
from tests.faults.local_kinesis import ONE_ATTEMPT, advance_until, flush_on, local_kinesis

MIB = 1024 * 1024
ON_DEMAND = aiokinesis.StreamModeDetails(stream_mode=aiokinesis.StreamMode.ON_DEMAND)


async def test_large_records_mixed_with_small_ones_are_paced_within_the_shards_burst() -> None:
    # AWS's limits on, virtual time on both sides: records of 1 MiB + 1 to 10 MiB among small ones
    # go without a throttle, and the shard never takes more than its rate, its bucket and one record.
    virtual = VirtualTime()
    sizes = [100, MIB + 1, 50, 2 * MIB, 5 * MIB, 10, 10 * MIB - 1, 300, 200, MIB + 1, 20]
    async with local_kinesis(virtual=virtual, retry=ONE_ATTEMPT) as (local, client):  # AWS's limits enforced
        local.backend.create_stream("big", 1, max_record_size_kib=10240)
        started = virtual.now
        config = ProducerConfig(linger=0.01, rate_limit=1.0)
        async with client.producer("big", config=config) as producer:
            receipts = [await producer.put(bytes([i % 256]) * size, partition_key="k") for i, size in enumerate(sizes)]
            await flush_on(virtual, producer, steps=4000)  # 40 virtual seconds at most
        elapsed = virtual.now - started
        records = local.backend.streams["big"].shards[0].records
    assert all(r.exception() is None for r in receipts)
    assert producer.stats.throttles == 0
    assert local.backend.throttled == 0
    assert [len(r.data) for r in records] == sizes  # one key: in order
    stored = sum(r.size for r in records)
    assert stored <= MIB * elapsed + MIB + 10 * MIB  # the shard's average, its bucket and one burst


async def test_receipts_of_large_records_say_whether_they_were_ever_sent() -> None:
    # AWS's limits on, one shard, virtual time. The first 10 MiB record takes the shard's burst;
    # the second waits out its debt (about 9 s) and its 5 s to live run out first: never sent.
    # Then every PutRecords is throttled: the third is sent and refused until its time runs out.
    virtual = VirtualTime()
    async with local_kinesis(virtual=virtual, retry=ONE_ATTEMPT) as (local, client):  # AWS's limits enforced
        local.backend.create_stream("big", 1, max_record_size_kib=10240)
        config = ProducerConfig(linger=0.01, rate_limit=1.0, record_ttl=5, retry_base_delay=0.1, retry_max_delay=0.5)
        async with client.producer("big", config=config) as producer:
            first = await producer.put(b"1" * (10 * MIB - 1), partition_key="a")
            second = await producer.put(b"2" * (10 * MIB - 1), partition_key="b")
            await advance_until(virtual, producer, second.done, step=0.01, steps=2000)  # 20 virtual seconds at most
            local.inject(Fault(kind=FaultKind.THROTTLE, operation="PutRecords", times=None))
            third = await producer.put(b"3", partition_key="c")
            await advance_until(virtual, producer, third.done, step=0.01, steps=2000)
    assert first.result().attempts == 1
    never = second.exception()
    assert isinstance(never, aiokinesis.RecordFailedError)
    assert (never.expired, never.attempts, never.last_code) == (True, 0, None)
    assert "before it was ever sent" in str(never)
    refused = third.exception()
    assert isinstance(refused, aiokinesis.RecordFailedError)
    assert refused.expired
    assert refused.attempts > 1
    assert refused.last_code == "ProvisionedThroughputExceededException"
    assert f"sent {refused.attempts} times, throttled {refused.attempts} of them" in str(refused)
    assert [len(r.data) for r in local.backend.streams["big"].shards[0].records] == [10 * MIB - 1]


def spy_on_requests(server: KinesisServer, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Bytes (data and keys) of each PutRecords the server is sent."""
    sizes: list[int] = []
    original = server.backend.PutRecords

    def put_records(request: dict[str, Any]) -> dict[str, Any]:
        entries = request["Records"]
        sizes.append(sum(len(base64.b64decode(e["Data"])) + len(e.get("PartitionKey", "").encode()) for e in entries))
        return original(request)

    monkeypatch.setattr(server.backend, "PutRecords", put_records)
    return sizes


@pytest.mark.parametrize(("record_kib", "request_limit"), [(1024, 5 * MIB), (10240, 10 * MIB)])
async def test_requests_fill_to_10_mib_on_large_record_streams_and_5_mib_on_others(
    record_kib: int, request_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with local_kinesis(limits=Limits(enabled=False)) as (local, client):
        local.backend.create_stream("s", 1, max_record_size_kib=record_kib)
        sizes = spy_on_requests(local, monkeypatch)
        async with client.producer(
            "s", config=ProducerConfig(linger=0.05, rate_limit=0, max_batch_bytes=None)
        ) as producer:
            receipts = [await producer.put(b"x" * (900 * 1024), partition_key=f"k{i}") for i in range(24)]
            await producer.flush()
    assert all(r.exception() is None for r in receipts)
    assert max(sizes) <= request_limit
    assert max(sizes) > request_limit - MIB  # filled, not split early


async def test_the_limit_raised_and_lowered_while_the_producer_runs() -> None:
    async with local_kinesis(streams={"s": 1}, limits=Limits(enabled=False)) as (local, client):
        arn = local.backend.streams["s"].arn
        async with client.producer("s", config=ProducerConfig(linger=0.01, rate_limit=0)) as producer:
            assert producer.max_record_bytes == MIB
            await (await producer.put(b"small", partition_key="k"))
            await client.update_max_record_size(stream_arn=arn, max_record_size_in_ki_b=4096)
            await asyncio.sleep(1.05)  # the producer reads the stream's limits again at most once a second
            landed = await (await producer.put(b"L" * (3 * MIB), partition_key="k"))
            assert producer.max_record_bytes == 4 * MIB
            await client.update_max_record_size(stream_arn=arn, max_record_size_in_ki_b=1024)
            with pytest.raises((aiokinesis.ParamValidationError, aiokinesis.ValidationException)):
                await (await producer.put(b"L" * (3 * MIB), partition_key="k"))
            await (await producer.put(b"small again", partition_key="k"))
    stored = [len(r.data) for r in local.backend.streams["s"].shard(landed.shard_id).records]
    assert stored == [5, 3 * MIB, 11]


async def test_without_describe_stream_summary_the_producer_does_not_open(monkeypatch: pytest.MonkeyPatch) -> None:
    # The stream's limits are read at open (docs/producer.md, IAM permissions): a policy without
    # kinesis:DescribeStreamSummary is told so at once, not by records refused later.
    async with local_kinesis(streams={"s": 1}, limits=Limits(enabled=False), retry=ONE_ATTEMPT) as (local, client):

        def denied(request: dict[str, Any]) -> dict[str, Any]:
            raise ApiError("AccessDeniedException", "not authorized to perform: kinesis:DescribeStreamSummary")

        monkeypatch.setattr(local.backend, "DescribeStreamSummary", denied)
        with pytest.raises(aiokinesis.AccessDeniedException, match="DescribeStreamSummary"):
            async with client.producer("s"):
                pass


async def test_keyless_records_through_the_producer_and_the_client_on_an_auto_stream() -> None:
    async with local_kinesis(limits=Limits(enabled=False)) as (local, client):
        local.backend.create_stream("keyed", 2)
        local.backend.create_stream("auto", 4, mode="ON_DEMAND", distribution="AUTO")
        one = await client.put_record(stream_name="auto", data=b"one")
        batch = await client.put_records(
            stream_name="auto", records=[aiokinesis.PutRecordsRequestEntry(data=b"b") for _ in range(3)]
        )
        assert batch.failed_record_count == 0
        async with client.producer("auto", config=ProducerConfig(linger=0.01, rate_limit=0)) as producer:
            receipts = [await producer.put(f"p{i}".encode()) for i in range(40)]
        assert all(r.exception() is None for r in receipts)
        async with client.producer("keyed", config=ProducerConfig(linger=0.01)) as producer:
            with pytest.raises(aiokinesis.ParamValidationError, match="partition_key"):
                await producer.put(b"no key")
        stream = local.backend.streams["auto"]
        counts = [len(s.records) for s in stream.shards]
    assert sum(counts) == 44
    assert min(counts) >= 10  # spread over every shard
    assert all(r.partition_key is None for s in stream.shards for r in s.records)
    assert one.shard_id in {s.shard_id for s in stream.shards}
    assert not any(s.records for s in local.backend.streams["keyed"].shards)


async def test_a_stream_switched_from_auto_while_the_producer_runs_fails_only_its_keyless_records() -> None:
    # The service refuses a request with a keyless record whole; the keyed records in it go again.
    async with local_kinesis(limits=Limits(enabled=False)) as (local, client):
        local.backend.create_stream("auto", 2, mode="ON_DEMAND", distribution="AUTO")
        arn = local.backend.streams["auto"].arn
        async with client.producer("auto", config=ProducerConfig(linger=0.3, rate_limit=0)) as producer:
            await asyncio.sleep(1.05)  # the producer reads the stream's limits again at most once a second
            keys = [None if i % 2 else f"k{i}" for i in range(10)]
            receipts = [await producer.put(f"r{i}".encode(), partition_key=key) for i, key in enumerate(keys)]
            # At once (no request to wait on while the linger runs out): the records are still buffered.
            call(
                local.backend,
                "UpdateStreamRecordDistributionStrategy",
                StreamARN=arn,
                RecordDistributionStrategy="USER_PARTITION_KEY",
            )
            outcomes = await asyncio.gather(*receipts, return_exceptions=True)
            with pytest.raises(aiokinesis.ParamValidationError, match="partition_key"):
                await producer.put(b"no key")
    assert [isinstance(o, aiokinesis.ValidationException) for o in outcomes] == [key is None for key in keys]
    stored = sorted(r.partition_key or "" for s in local.backend.streams["auto"].shards for r in s.records)
    assert stored == sorted(key for key in keys if key is not None)


async def test_aggregated_keyed_records_on_an_auto_stream_all_reach_the_consumer() -> None:
    # AUTO ignores keys: an aggregate lands on any shard, whatever its user records' keys hash to;
    # the reader's filter of user records outside a shard's hash range must not drop them.
    async with local_kinesis(limits=Limits(enabled=False)) as (local, client):
        local.backend.create_stream("auto", 4, mode="ON_DEMAND", distribution="AUTO")
        config = ProducerConfig(linger=0.02, rate_limit=0, aggregate=True)
        async with client.producer("auto", config=config) as producer:
            receipts = [await producer.put(f"v{i}".encode(), partition_key=f"key-{i}") for i in range(200)]
        assert all(r.exception() is None for r in receipts)
        seen: set[bytes] = set()
        reader = aiokinesis.ReaderConfig(min_interval=0.01, idle_interval=0.01)
        async with (
            asyncio.timeout(30),
            client.consumer(
                "auto",
                start=aiokinesis.StartingPosition.trim_horizon(),
                config=aiokinesis.ConsumerConfig(reader=reader),
            ) as consumer,
        ):
            async for batch in consumer:
                seen |= {r.data for r in batch.records}
                if len(seen) == 200:
                    break
    assert seen == {f"v{i}".encode() for i in range(200)}


@pytest.mark.parametrize("fan_out", [None, "app"], ids=["polling", "enhanced-fan-out"])
async def test_keyless_records_read_back_have_no_partition_key(fan_out: str | None) -> None:
    # ShardRecord.partition_key is None for a record written without one (it was "" before #15).
    async with local_kinesis(limits=Limits(enabled=False)) as (local, client):
        local.backend.create_stream("auto", 2, mode="ON_DEMAND", distribution="AUTO")
        async with client.producer("auto", config=ProducerConfig(linger=0.01, rate_limit=0)) as producer:
            receipts = [await producer.put(f"r{i}".encode()) for i in range(6)]
        shard_id = receipts[0].result().shard_id
        trim = aiokinesis.StartingPosition.trim_horizon()
        reader = aiokinesis.ReaderConfig(min_interval=0.01, idle_interval=0.01)
        got: list[aiokinesis.ShardRecord] = []
        async with (
            asyncio.timeout(30),
            client.consumer(
                "auto", start=trim, enhanced_fan_out=fan_out, config=aiokinesis.ConsumerConfig(reader=reader)
            ) as consumer,
        ):
            async for batch in consumer:
                got += batch.records
                if len(got) == 6:
                    break
        async with asyncio.timeout(30):
            async for record in client.read_shard("auto", shard_id, start=trim, config=reader):
                got.append(record)
                break
    assert sorted(r.data for r in got[:6]) == [f"r{i}".encode() for i in range(6)]
    assert [r.partition_key for r in got] == [None] * 7
