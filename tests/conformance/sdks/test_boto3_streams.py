"""boto3 against aiokinesis.testing: streams, shards, records and consumers, in the shapes boto3 parses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiokinesis.testing import Fault, FaultKind, KinesisServer
from tests.conformance.sdks.conftest import ACCOUNT, REGION, create_stream, error_code, wait


def test_streams_are_created_described_listed_and_deleted(kinesis: Any) -> None:
    arn = create_stream(kinesis, "orders", ShardCount=3)
    assert arn == f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/orders"
    description = kinesis.describe_stream(StreamName="orders", Limit=2)["StreamDescription"]
    assert (description["StreamStatus"], description["HasMoreShards"]) == ("ACTIVE", True)
    assert len(description["Shards"]) == 2
    assert isinstance(description["StreamCreationTimestamp"], datetime)
    shard = description["Shards"][0]
    assert set(shard) == {"ShardId", "HashKeyRange", "SequenceNumberRange"}
    assert shard["HashKeyRange"]["StartingHashKey"] == "0"
    summary = kinesis.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]
    assert (summary["OpenShardCount"], summary["ConsumerCount"], summary["RetentionPeriodHours"]) == (3, 0, 24)
    assert summary["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert summary["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}]
    create_stream(kinesis, "audit", ShardCount=1)
    listed = kinesis.list_streams(Limit=1)
    assert (listed["StreamNames"], listed["HasMoreStreams"]) == (["audit"], True)
    assert listed["StreamSummaries"][0]["StreamARN"].endswith(":stream/audit")
    names = [n for page in kinesis.get_paginator("list_streams").paginate(Limit=1) for n in page["StreamNames"]]
    assert names == ["audit", "orders"]
    kinesis.delete_stream(StreamName="audit")
    wait(kinesis, "stream_not_exists", "audit")
    assert error_code(kinesis.describe_stream_summary, StreamName="audit") == "ResourceNotFoundException"
    assert error_code(kinesis.create_stream, StreamName="orders", ShardCount=1) == "ResourceInUseException"
    assert error_code(kinesis.create_stream, StreamName="bad name", ShardCount=1) == "ValidationException"


def test_shards_are_listed_paginated_filtered_and_resharded(kinesis: Any) -> None:
    create_stream(kinesis, "s", ShardCount=4)
    first = kinesis.list_shards(StreamName="s", MaxResults=3)
    rest = kinesis.list_shards(NextToken=first["NextToken"])
    assert ([len(first["Shards"]), len(rest["Shards"])], "NextToken" in rest) == ([3, 1], False)
    # As AWS does (botocore issue 2009): a NextToken names its stream, and boto3's own paginator,
    # which sends StreamName again with it, fails on its second page.
    assert error_code(kinesis.list_shards, StreamName="s", NextToken=first["NextToken"]) == "InvalidArgumentException"
    pages = kinesis.get_paginator("list_shards").paginate(StreamName="s", PaginationConfig={"PageSize": 3})
    assert error_code(lambda: list(pages)) == "InvalidArgumentException"
    answer = kinesis.update_shard_count(StreamName="s", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    assert (answer["CurrentShardCount"], answer["TargetShardCount"]) == (4, 2)
    wait(kinesis, "stream_exists", "s")
    open_now = kinesis.list_shards(StreamName="s", ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert len(open_now) == 2
    assert all("ParentShardId" in shard for shard in open_now)
    closed = kinesis.list_shards(StreamName="s")["Shards"][0]
    assert "EndingSequenceNumber" in closed["SequenceNumberRange"]
    child = open_now[0]
    middle = str(int(child["HashKeyRange"]["EndingHashKey"]) // 2)
    kinesis.split_shard(StreamName="s", ShardToSplit=child["ShardId"], NewStartingHashKey=middle)
    wait(kinesis, "stream_exists", "s")
    assert kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["OpenShardCount"] == 3


def test_stream_settings_change_as_boto3_asks(kinesis: Any) -> None:
    arn = create_stream(kinesis, "s", ShardCount=1)
    kinesis.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=72)
    assert error_code(kinesis.decrease_stream_retention_period, StreamName="s", RetentionPeriodHours=100) == (
        "InvalidArgumentException"
    )
    kinesis.decrease_stream_retention_period(StreamARN=arn, RetentionPeriodHours=48)
    enabled = kinesis.enable_enhanced_monitoring(StreamName="s", ShardLevelMetrics=["IncomingBytes", "OutgoingBytes"])
    assert (enabled["CurrentShardLevelMetrics"], enabled["DesiredShardLevelMetrics"]) == (
        [],
        ["IncomingBytes", "OutgoingBytes"],
    )
    kinesis.start_stream_encryption(StreamName="s", EncryptionType="KMS", KeyId="alias/aws/kinesis")
    wait(kinesis, "stream_exists", "s")
    summary = kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]
    assert (summary["RetentionPeriodHours"], summary["EncryptionType"]) == (48, "KMS")
    assert summary["KeyId"] == "alias/aws/kinesis"
    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    wait(kinesis, "stream_exists", "s")
    summary = kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]
    assert summary["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    limits = kinesis.describe_limits()
    assert (limits["OpenShardCount"], limits["OnDemandStreamCount"]) == (1, 1)


def test_records_are_put_and_read_back(kinesis: Any) -> None:
    create_stream(kinesis, "s", ShardCount=2)
    one = kinesis.put_record(StreamName="s", Data=b"first", PartitionKey="k")
    assert set(one) - {"ResponseMetadata"} == {"ShardId", "SequenceNumber", "EncryptionType"}
    batch = kinesis.put_records(StreamName="s", Records=[{"Data": b"r%d" % i, "PartitionKey": "k"} for i in range(3)])
    assert batch["FailedRecordCount"] == 0
    assert all(r["ShardId"] == one["ShardId"] for r in batch["Records"])
    iterator = kinesis.get_shard_iterator(StreamName="s", ShardId=one["ShardId"], ShardIteratorType="TRIM_HORIZON")
    answer = kinesis.get_records(ShardIterator=iterator["ShardIterator"], Limit=10)
    assert [r["Data"] for r in answer["Records"]] == [b"first", b"r0", b"r1", b"r2"]
    assert isinstance(answer["Records"][0]["ApproximateArrivalTimestamp"], datetime)
    assert answer["MillisBehindLatest"] == 0
    assert answer["NextShardIterator"]
    after = kinesis.get_shard_iterator(
        StreamName="s",
        ShardId=one["ShardId"],
        ShardIteratorType="AFTER_SEQUENCE_NUMBER",
        StartingSequenceNumber=one["SequenceNumber"],
    )
    assert len(kinesis.get_records(ShardIterator=after["ShardIterator"])["Records"]) == 3
    assert error_code(kinesis.get_records, ShardIterator="not-an-iterator") == "InvalidArgumentException"
    assert error_code(kinesis.put_record, StreamName="s", Data=b"x" * (1024 * 1024 + 1), PartitionKey="k") == (
        "ValidationException"
    )


def test_put_records_reports_partial_failure_in_boto3s_shape(local: KinesisServer, kinesis: Any) -> None:
    create_stream(kinesis, "s", ShardCount=1)
    local.inject(Fault(kind=FaultKind.PARTIAL_FAILURE, operation="PutRecords", error_code="InternalFailure"))
    answer = kinesis.put_records(StreamName="s", Records=[{"Data": b"a", "PartitionKey": "k"}] * 2)
    assert answer["FailedRecordCount"] == 2
    assert [set(r) for r in answer["Records"]] == [{"ErrorCode", "ErrorMessage"}] * 2
    assert answer["Records"][0]["ErrorCode"] == "InternalFailure"
    local.inject(Fault(kind=FaultKind.THROTTLE, operation="PutRecords"))
    throttled = kinesis.put_records(StreamName="s", Records=[{"Data": b"a", "PartitionKey": "k"}])
    assert throttled["Records"][0]["ErrorCode"] == "ProvisionedThroughputExceededException"


def test_consumers_are_registered_described_listed_and_deregistered(kinesis: Any) -> None:
    arn = create_stream(kinesis, "s", ShardCount=1)
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="app")["Consumer"]
    assert consumer["ConsumerARN"].startswith(f"{arn}/consumer/app:")
    assert isinstance(consumer["ConsumerCreationTimestamp"], datetime)
    described = kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])["ConsumerDescription"]
    assert (described["ConsumerName"], described["StreamARN"], described["ConsumerStatus"]) == ("app", arn, "ACTIVE")
    assert kinesis.describe_stream_consumer(StreamARN=arn, ConsumerName="app")["ConsumerDescription"] == described
    kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="other")
    paginator = kinesis.get_paginator("list_stream_consumers")
    pages = list(paginator.paginate(StreamARN=arn, PaginationConfig={"PageSize": 1}))
    assert [c["ConsumerName"] for p in pages for c in p["Consumers"]] == ["app", "other"]
    assert error_code(kinesis.register_stream_consumer, StreamARN=arn, ConsumerName="app") == "ResourceInUseException"
    assert error_code(kinesis.delete_stream, StreamName="s") == "ResourceInUseException"
    kinesis.deregister_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
    assert error_code(kinesis.describe_stream_consumer, ConsumerARN=consumer["ConsumerARN"]) == (
        "ResourceNotFoundException"
    )
    assert kinesis.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]["ConsumerCount"] == 1
