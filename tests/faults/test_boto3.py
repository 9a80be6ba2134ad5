"""aiokinesis.testing driven by boto3, code we did not write: it must see AWS's shapes and error codes
(regions from the signature, large records, keyless records on AUTO, the shard limit, validation)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.loaders import create_loader
from botocore.model import ServiceModel

from aiokinesis.testing import KinesisServer, Limits, serve_in_thread

MIB = 1024 * 1024
# boto3 sends only what the installed botocore's model has: older ones (the declared floor, 1.34.0)
# have neither large records nor keyless puts.
BOTO_MODEL = ServiceModel(create_loader().load_service_model("kinesis", "service-2"), "kinesis")
LARGE_RECORDS = pytest.mark.skipif(
    "MaxRecordSizeInKiB" not in BOTO_MODEL.shape_for("CreateStreamInput").members,
    reason=f"botocore {botocore.__version__}'s Kinesis model has no MaxRecordSizeInKiB: boto3 cannot send it",
)
KEYLESS = pytest.mark.skipif(
    "PartitionKey" in BOTO_MODEL.shape_for("PutRecordsRequestEntry").required_members,
    reason=f"botocore {botocore.__version__}'s Kinesis model requires a PartitionKey: boto3 cannot put without one",
)


@pytest.fixture
def server() -> Iterator[KinesisServer]:
    with serve_in_thread(limits=Limits(enabled=False, shard_limit=8), account="210987654321") as local:
        yield local


def kinesis(server: KinesisServer, region: str = "eu-west-2") -> Any:
    return boto3.client(
        "kinesis",
        endpoint_url=server.endpoint_url,
        region_name=region,
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key="test-secret",
        config=Config(retries={"total_max_attempts": 1}),
    )


def code_of(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return str(caught.value.response["Error"]["Code"])


@LARGE_RECORDS
def test_boto3_sees_large_record_streams_and_their_limits(server: KinesisServer) -> None:
    client = kinesis(server)
    client.create_stream(StreamName="big", ShardCount=1, MaxRecordSizeInKiB=4096)
    client.get_waiter("stream_exists").wait(StreamName="big", WaiterConfig={"Delay": 0, "MaxAttempts": 1})
    summary = client.describe_stream_summary(StreamName="big")["StreamDescriptionSummary"]
    assert summary["StreamARN"] == "arn:aws:kinesis:eu-west-2:210987654321:stream/big"
    assert summary["MaxRecordSizeInKiB"] == 4096
    assert summary["RecordDistributionStrategy"] == "USER_PARTITION_KEY"
    put = client.put_record(StreamName="big", Data=b"x" * (4 * MIB - 1), PartitionKey="k")
    with pytest.raises(ClientError) as caught:
        client.put_record(StreamName="big", Data=b"x" * (4 * MIB + 1), PartitionKey="k")
    assert code_of(caught) == "ValidationException"
    client.update_max_record_size(StreamARN=summary["StreamARN"], MaxRecordSizeInKiB=10240)
    client.put_record(StreamName="big", Data=b"y" * (4 * MIB + 1), PartitionKey="k")
    iterator = client.get_shard_iterator(StreamName="big", ShardId=put["ShardId"], ShardIteratorType="TRIM_HORIZON")
    records = client.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    assert [len(r["Data"]) for r in records] == [4 * MIB - 1, 4 * MIB + 1]


@KEYLESS
def test_boto3_puts_keyless_records_on_an_auto_stream(server: KinesisServer) -> None:
    client = kinesis(server)
    client.create_stream(StreamName="auto", ShardCount=2, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    arn = client.describe_stream_summary(StreamName="auto")["StreamDescriptionSummary"]["StreamARN"]
    with pytest.raises(ClientError) as caught:
        client.put_records(StreamName="auto", Records=[{"Data": b"no key"}])
    assert code_of(caught) == "ValidationException"
    client.update_stream_record_distribution_strategy(StreamARN=arn, RecordDistributionStrategy="AUTO")
    answer = client.put_records(StreamName="auto", Records=[{"Data": b"no key"}] * 4)
    assert answer["FailedRecordCount"] == 0
    assert len({r["ShardId"] for r in answer["Records"]}) == 2
    with pytest.raises(ClientError) as caught:
        client.update_shard_count(StreamName="auto", TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    assert code_of(caught) == "InvalidArgumentException"


def test_boto3_gets_aws_codes_for_the_shard_limit_and_broken_constraints(server: KinesisServer) -> None:
    client = kinesis(server, "sa-east-1")
    assert client.describe_limits()["ShardLimit"] == 8
    client.create_stream(StreamName="s", ShardCount=8)
    with pytest.raises(ClientError) as caught:
        client.create_stream(StreamName="t", ShardCount=1)
    assert code_of(caught) == "LimitExceededException"
    with pytest.raises(ClientError) as caught:
        client.split_shard(StreamName="s", ShardToSplit="?", NewStartingHashKey="1")
    assert code_of(caught) == "ValidationException"
    assert "'shardToSplit'" in caught.value.response["Error"]["Message"]
    kinesis(server, "eu-north-1").create_stream(StreamName="t", ShardCount=1)  # another region's limit
    assert [s["StreamName"] for s in kinesis(server, "eu-north-1").list_streams()["StreamSummaries"]] == ["t"]
