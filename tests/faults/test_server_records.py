"""aiokinesis.testing on today's Kinesis: large records (UpdateMaxRecordSize, MaxRecordSizeInKiB, the
10 MiB PutRecords, a shard's burst), warm throughput, and keyless records on AUTO streams."""

from __future__ import annotations

import base64
import copy
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from botocore.loaders import Loader

import aiokinesis
from aiokinesis.testing import ApiError, Backend, KinesisServer, Limits
from aiokinesis.testing._validate import model_checker
from tests.fakes import FakeTime
from tests.faults.backend_calls import call

MIB = 1024 * 1024
Entry = aiokinesis.PutRecordsRequestEntry
ON_DEMAND = aiokinesis.StreamModeDetails(stream_mode=aiokinesis.StreamMode.ON_DEMAND)
SHARD = "shardId-000000000000"


@pytest.fixture
async def server() -> AsyncIterator[KinesisServer]:
    async with KinesisServer(streams={"s": 1}, limits=Limits(enabled=False)) as local:
        yield local


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_update_max_record_size_raises_the_limit_that_put_record_enforces(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    arn = server.backend.streams["s"].arn
    with pytest.raises(aiokinesis.ValidationException, match=r"'records\.1\.member\.data'.* equal to 1048576"):
        await kinesis.put_records(stream_name="s", records=[Entry(data=b"x" * (MIB + 1), partition_key="k")])
    await kinesis.update_max_record_size(stream_arn=arn, max_record_size_in_ki_b=10240)
    summary = (await kinesis.describe_stream_summary(stream_name="s")).stream_description_summary
    assert summary.max_record_size_in_ki_b == 10240
    await kinesis.put_record(stream_name="s", data=b"x" * (10 * MIB - 1), partition_key="k")
    assert server.backend.streams["s"].shards[0].records[0].size == 10 * MIB
    await kinesis.update_max_record_size(stream_arn=arn, max_record_size_in_ki_b=1024)  # and back down
    with pytest.raises(aiokinesis.ValidationException, match="'data'"):
        await kinesis.put_record(stream_name="s", data=b"x" * (MIB + 1), partition_key="k")


def test_update_max_record_size_out_of_the_models_range_names_the_member() -> None:
    backend = Backend(clock=FakeTime().clock)
    arn = backend.create_stream("s").arn
    for size in (1023, 10241):
        with pytest.raises(ApiError) as caught:
            call(backend, "UpdateMaxRecordSize", StreamARN=arn, MaxRecordSizeInKiB=size)
        assert caught.value.code == "ValidationException"
        assert f"Value '{size}' at 'maxRecordSizeInKiB'" in caught.value.message


async def test_create_stream_takes_max_record_size_warm_throughput_and_distribution(
    kinesis: aiokinesis.Client,
) -> None:
    await kinesis.create_stream(
        stream_name="big",
        shard_count=2,
        stream_mode_details=ON_DEMAND,
        max_record_size_in_ki_b=2048,
        warm_throughput_mi_bps=100,
        record_distribution_strategy="AUTO",
    )
    summary = (await kinesis.describe_stream_summary(stream_name="big")).stream_description_summary
    assert summary.max_record_size_in_ki_b == 2048
    assert summary.record_distribution_strategy == "AUTO"
    assert summary.warm_throughput is not None
    assert (summary.warm_throughput.target_mi_bps, summary.warm_throughput.current_mi_bps) == (100, 100)
    updated = await kinesis.update_stream_warm_throughput(stream_name="big", warm_throughput_mi_bps=250)
    assert updated.warm_throughput is not None
    assert updated.warm_throughput.target_mi_bps == 250
    plain = (await kinesis.describe_stream_summary(stream_name="s")).stream_description_summary
    assert (plain.max_record_size_in_ki_b, plain.record_distribution_strategy) == (1024, "USER_PARTITION_KEY")
    assert plain.warm_throughput is None


async def test_warm_throughput_and_auto_are_for_on_demand_streams_only(kinesis: aiokinesis.Client) -> None:
    with pytest.raises(aiokinesis.InvalidArgumentException, match="WarmThroughputMiBps"):
        await kinesis.create_stream(stream_name="p", shard_count=1, warm_throughput_mi_bps=10)
    with pytest.raises(aiokinesis.InvalidArgumentException, match="ON_DEMAND"):
        await kinesis.create_stream(stream_name="p", shard_count=1, record_distribution_strategy="AUTO")
    with pytest.raises(aiokinesis.InvalidArgumentException, match="PROVISIONED"):
        await kinesis.update_stream_warm_throughput(stream_name="s", warm_throughput_mi_bps=10)
    arn = (await kinesis.describe_stream_summary(stream_name="s")).stream_description_summary.stream_arn
    with pytest.raises(aiokinesis.InvalidArgumentException, match="PROVISIONED"):
        await kinesis.update_stream_record_distribution_strategy(stream_arn=arn, record_distribution_strategy="AUTO")


@pytest.fixture
def floor_botocore(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """botocore's loader answering Kinesis's model as the declared floor (botocore 1.34.0) has it, with
    records of 1 MiB at most; the server's model checker made afresh under it, and again after."""
    load = Loader.load_service_model

    def floor_model(self: Loader, service_name: str, type_name: str, api_version: str | None = None) -> Any:
        document = load(self, service_name, type_name, api_version)
        if (service_name, type_name) != ("kinesis", "service-2"):
            return document
        document = copy.deepcopy(document)
        document["shapes"]["Data"]["max"] = MIB
        return document

    monkeypatch.setattr(Loader, "load_service_model", floor_model)
    model_checker.cache_clear()
    yield
    model_checker.cache_clear()


@pytest.mark.usefixtures("floor_botocore")
def test_requests_are_checked_against_the_model_the_client_was_made_from() -> None:
    """Not the installed botocore's: under the floor's model the server refused the 10 MiB records the
    client sends (found running the suite at the declared dependency floors)."""
    backend = Backend(clock=FakeTime().clock, limits=Limits(enabled=False))
    backend.create_stream("s", max_record_size_kib=10240)
    call(backend, "PutRecord", StreamName="s", Data=b64(b"x" * (10 * MIB - 1)), PartitionKey="k")
    assert backend.streams["s"].shards[0].records[0].size == 10 * MIB


def test_put_records_takes_10_mib_a_request_and_refuses_more() -> None:
    backend = Backend(clock=FakeTime().clock, limits=Limits(enabled=False))
    backend.create_stream("s", max_record_size_kib=10240)
    five = b"x" * (5 * MIB - 1)
    answer = call(backend, "PutRecords", StreamName="s", Records=[{"Data": b64(five), "PartitionKey": "k"}] * 2)
    assert answer["FailedRecordCount"] == 0
    with pytest.raises(ApiError) as caught:
        call(backend, "PutRecords", StreamName="s", Records=[{"Data": b64(five + b"x"), "PartitionKey": "kk"}] * 2)
    assert caught.value.code == "InvalidArgumentException"
    assert "exceeds 10 MiB" in caught.value.message


def test_a_record_whose_key_takes_it_over_the_limit_names_data_and_key() -> None:
    backend = Backend(clock=FakeTime().clock)
    backend.create_stream("s")
    fits = {"Data": b64(b"x" * (MIB - 3)), "PartitionKey": "abc"}
    call(backend, "PutRecords", StreamName="s", Records=[fits])
    over = {"Data": b64(b"x" * (MIB - 3)), "PartitionKey": "abcd"}
    with pytest.raises(ApiError) as caught:
        call(backend, "PutRecords", StreamName="s", Records=[fits, over])
    assert caught.value.code == "InvalidArgumentException"
    assert "records.2.member.data and records.2.member.partitionKey" in caught.value.message
    assert "1048573 + 4 bytes" in caught.value.message


def test_a_shard_bursts_to_take_one_large_record_and_holds_its_average() -> None:
    # 1 MiB/s a shard: a 10 MiB record goes on a full bucket, into 9 MiB of debt the shard then
    # waits out; before, it was refused forever (the bucket held exactly one second of rate).
    time = FakeTime()
    backend = Backend(clock=time.clock)
    backend.create_stream("s", max_record_size_kib=10240)
    large = {"StreamName": "s", "Data": b64(b"L" * (10 * MIB - 1)), "PartitionKey": "k"}
    small = {"StreamName": "s", "Data": b64(b"s" * 1000), "PartitionKey": "k"}
    call(backend, "PutRecord", **large)
    refused = 0
    for _ in range(89):  # 8.9 s of a small record each 0.1 s: the debt is not repaid yet
        time.advance(0.1)
        with pytest.raises(ApiError) as caught:
            call(backend, "PutRecord", **small)
        assert caught.value.code == "ProvisionedThroughputExceededException"
        refused += 1
    time.advance(0.2)
    call(backend, "PutRecord", **small)
    assert backend.throttled == refused
    # A second large record waits until the bucket is full again: 1 s of rate after the debt.
    with pytest.raises(ApiError):
        call(backend, "PutRecord", **large)
    time.advance(1.0)
    call(backend, "PutRecord", **large)
    stored = sum(r.size for r in backend.streams["s"].shards[0].records)
    assert stored == 20 * MIB + 1001  # in 10.1 s: 10.1 MiB of rate, 1 MiB of bucket, one 10 MiB record


def test_a_10_mib_read_bars_the_shards_reads_for_5_seconds() -> None:
    # AWS: "if a call returns 10 MiB, subsequent calls made within the next 5 seconds throw". The
    # 2 MiB/s bucket alone let the next read in after 4 s (its one-second credit paid the rest).
    time = FakeTime()
    backend = Backend(clock=time.clock)
    backend.create_stream("s", max_record_size_kib=10240)
    call(backend, "PutRecord", StreamName="s", Data=b64(b"L" * (10 * MIB - 1)), PartitionKey="k")
    time.advance(10)  # the write burst repaid; the read bucket full
    call(backend, "PutRecord", StreamName="s", Data=b64(b"small"), PartitionKey="k")
    start = call(backend, "GetShardIterator", StreamName="s", ShardId=SHARD, ShardIteratorType="TRIM_HORIZON")
    page = call(backend, "GetRecords", ShardIterator=start["ShardIterator"], Limit=1)
    assert len(page["Records"]) == 1
    waited = 0.0
    for step in (0.2, 3.8, 0.8, 0.19):  # at 0.2 s, 4.0 s, 4.8 s and 4.99 s: still barred
        time.advance(step)
        waited += step
        with pytest.raises(ApiError) as caught:
            call(backend, "GetRecords", ShardIterator=page["NextShardIterator"])
        assert caught.value.code == "ProvisionedThroughputExceededException", waited
    time.advance(0.01)
    after = call(backend, "GetRecords", ShardIterator=page["NextShardIterator"])
    assert [base64.b64decode(r["Data"]) for r in after["Records"]] == [b"small"]
    assert backend.throttled == 4


def test_update_shard_count_and_auto_on_a_provisioned_stream_are_refused() -> None:
    backend = Backend(clock=FakeTime().clock)
    backend.create_stream("p", 2)
    on_demand = backend.create_stream("d", 2, mode="ON_DEMAND")
    with pytest.raises(ApiError) as caught:
        call(backend, "UpdateShardCount", StreamName="d", TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    assert caught.value.code == "InvalidArgumentException"
    assert "ON_DEMAND" in caught.value.message
    assert len(on_demand.open_shards()) == 2
    call(backend, "UpdateShardCount", StreamName="p", TargetShardCount=4, ScalingType="UNIFORM_SCALING")


async def test_keyless_records_on_an_auto_stream_are_spread_and_stored_without_a_key(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    await kinesis.create_stream(stream_name="auto", shard_count=4, stream_mode_details=ON_DEMAND)
    arn = (await kinesis.describe_stream_summary(stream_name="auto")).stream_description_summary.stream_arn
    with pytest.raises(aiokinesis.ValidationException, match="Value null at 'partitionKey'"):
        await kinesis.put_record(stream_name="auto", data=b"no key")
    await kinesis.update_stream_record_distribution_strategy(stream_arn=arn, record_distribution_strategy="AUTO")
    one = await kinesis.put_record(stream_name="auto", data=b"no key")
    many = await kinesis.put_records(stream_name="auto", records=[Entry(data=f"r{i}".encode()) for i in range(7)])
    keyed = await kinesis.put_records(
        stream_name="auto", records=[Entry(data=b"k", partition_key="same") for _ in range(4)]
    )
    assert many.failed_record_count == 0
    shards = [one.shard_id, *(r.shard_id for r in many.records), *(r.shard_id for r in keyed.records)]
    assert {shards.count(s) for s in set(shards)} == {3}  # every open shard takes its turn, keys ignored
    stream = server.backend.streams["auto"]
    assert all(r.partition_key is None for s in stream.shards for r in s.records if r.data != b"k")
    iterator = await kinesis.get_shard_iterator(
        stream_name="auto", shard_id=one.shard_id, shard_iterator_type="TRIM_HORIZON"
    )
    got = await kinesis.get_records(shard_iterator=iterator.shard_iterator or "")
    assert got.records[0].data == b"no key"
    assert got.records[0].partition_key is None
    # Back to USER_PARTITION_KEY: a keyless record is refused again, naming the member.
    await kinesis.update_stream_record_distribution_strategy(
        stream_arn=arn, record_distribution_strategy="USER_PARTITION_KEY"
    )
    with pytest.raises(aiokinesis.ValidationException, match=r"'records\.1\.member\.partitionKey'"):
        await kinesis.put_records(stream_name="auto", records=[Entry(data=b"no key")])


@pytest.mark.parametrize("operation", ["PutRecord", "PutRecords"])
def test_a_partition_keys_256_are_utf16_code_units_as_kinesis_mock_counts_them(operation: str) -> None:
    """A character past U+FFFF counts two, as Java's String.length() (the service, the KPL,
    kinesis-mock) counts it: 128 emoji are 256 units and land, 129 are refused."""
    backend = Backend(clock=FakeTime().clock)
    backend.create_stream("s")

    def put(key: str) -> None:
        if operation == "PutRecord":
            call(backend, "PutRecord", StreamName="s", Data=b64(b"x"), PartitionKey=key)
        else:
            call(backend, "PutRecords", StreamName="s", Records=[{"Data": b64(b"x"), "PartitionKey": key}])

    put("\U0001f600" * 128)
    put("é" * 256)  # two UTF-8 bytes, one unit each
    with pytest.raises(ApiError) as caught:
        put("\U0001f600" * 129)
    assert caught.value.code == "ValidationException"
    assert "artitionKey" in caught.value.message
    assert "256" in caught.value.message
    assert len(backend.streams["s"].shards[0].records) == 2
