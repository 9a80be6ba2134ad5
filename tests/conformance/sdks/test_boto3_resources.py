"""boto3 against aiokinesis.testing: tags (both APIs, every kind of resource), resource policies,
account settings, the largest record and warm throughput."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiokinesis.testing import serve_in_thread
from tests.conformance.sdks.conftest import ACCOUNT, REGION, boto3_client, create_stream, error_code, wait
from tests.fakes import FROZEN_NOW, FakeTime

POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kinesis:GetRecords","Resource":"*"}]}'  # noqa: E501


def on_demand_queue(kinesis: Any, stream: str) -> str:
    arn = create_stream(kinesis, stream, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    created = kinesis.create_queue(QueueName=f"{stream}-q", StreamConfigurationList=[{"StreamARN": arn}])
    queue: str = created["QueueDescription"]["QueueARN"]
    return queue


def tags_of(kinesis: Any, arn: str) -> dict[str, str]:
    return {tag["Key"]: tag.get("Value", "") for tag in kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"]}


def test_both_tag_apis_see_the_same_stream_tags(kinesis: Any) -> None:
    arn = create_stream(kinesis, "s", ShardCount=1, Tags={"made": "create"})
    kinesis.tag_resource(ResourceARN=arn, Tags={"team": "data", "empty": ""})
    kinesis.add_tags_to_stream(StreamName="s", Tags={"env": "test"})
    assert tags_of(kinesis, arn) == {"made": "create", "team": "data", "empty": "", "env": "test"}
    listed = kinesis.list_tags_for_stream(StreamName="s", Limit=3)
    assert ([t["Key"] for t in listed["Tags"]], listed["HasMoreTags"]) == (["empty", "env", "made"], True)
    kinesis.remove_tags_from_stream(StreamName="s", TagKeys=["team"])
    kinesis.untag_resource(ResourceARN=arn, TagKeys=["made", "never-there"])
    assert tags_of(kinesis, arn) == {"empty": "", "env": "test"}
    by_stream = kinesis.list_tags_for_stream(StreamARN=arn)["Tags"]
    assert by_stream == kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"]


def test_consumers_and_queues_have_tags_of_their_own(kinesis: Any) -> None:
    arn = create_stream(kinesis, "s", ShardCount=1)
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="app", Tags={"kind": "efo"})["Consumer"]
    kinesis.tag_resource(ResourceARN=consumer["ConsumerARN"], Tags={"owner": "me"})
    assert tags_of(kinesis, consumer["ConsumerARN"]) == {"kind": "efo", "owner": "me"}
    assert tags_of(kinesis, arn) == {}
    queue = on_demand_queue(kinesis, "od")
    kinesis.tag_resource(ResourceARN=queue, Tags={"queue": "yes"})
    kinesis.untag_resource(ResourceARN=queue, TagKeys=["queue"])
    kinesis.tag_resource(ResourceARN=queue, Tags={"kept": "1"})
    assert tags_of(kinesis, queue) == {"kept": "1"}


def test_tags_are_refused_with_aws_codes(kinesis: Any) -> None:
    arn = create_stream(kinesis, "s", ShardCount=1)
    kinesis.tag_resource(ResourceARN=arn, Tags={f"k{i}": "v" for i in range(50)})
    assert error_code(kinesis.tag_resource, ResourceARN=arn, Tags={"one-more": "v"}) == "InvalidArgumentException"
    assert error_code(kinesis.add_tags_to_stream, StreamName="s", Tags={"one-more": "v"}) == "InvalidArgumentException"
    kinesis.tag_resource(ResourceARN=arn, Tags={"k0": "replaced"})  # replacing one keeps 50
    assert error_code(kinesis.tag_resource, ResourceARN=arn, Tags={"k" * 129: "v"}) == "ValidationException"
    assert error_code(kinesis.tag_resource, ResourceARN=arn, Tags={"k": "v" * 257}) == "ValidationException"
    assert error_code(kinesis.tag_resource, ResourceARN=arn, Tags={"aws:reserved": "v"}) == "InvalidArgumentException"
    assert error_code(kinesis.tag_resource, ResourceARN=arn, Tags={"k#": "v"}) == "InvalidArgumentException"
    assert error_code(kinesis.tag_resource, ResourceARN="not-an-arn", Tags={"k": "v"}) == "ValidationException"
    assert error_code(kinesis.tag_resource, ResourceARN=f"{arn}/consumer/no-number", Tags={"k": "v"}) == (
        "ValidationException"
    )
    missing = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/missing"
    assert error_code(kinesis.list_tags_for_resource, ResourceARN=missing) == "ResourceNotFoundException"
    assert error_code(kinesis.list_tags_for_resource, ResourceARN=f"{missing}/consumer/c:1") == (
        "ResourceNotFoundException"
    )
    other_region = arn.replace(REGION, "us-west-2")
    assert error_code(kinesis.list_tags_for_resource, ResourceARN=other_region) == "ResourceNotFoundException"
    assert error_code(kinesis.create_stream, StreamName="t", ShardCount=1, Tags={"aws:x": "v"}) == (
        "InvalidArgumentException"
    )
    assert "t" not in kinesis.list_streams()["StreamNames"]  # refused before anything was made


def test_resource_policies_on_streams_consumers_and_queues(kinesis: Any) -> None:
    arn = create_stream(kinesis, "s", ShardCount=1)
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="app")["Consumer"]["ConsumerARN"]
    queue = on_demand_queue(kinesis, "od")
    for resource in (arn, consumer, queue):
        assert error_code(kinesis.get_resource_policy, ResourceARN=resource) == "ResourceNotFoundException"
        kinesis.put_resource_policy(ResourceARN=resource, Policy=POLICY)
        assert kinesis.get_resource_policy(ResourceARN=resource)["Policy"] == POLICY
    kinesis.delete_resource_policy(ResourceARN=arn)
    assert error_code(kinesis.get_resource_policy, ResourceARN=arn) == "ResourceNotFoundException"
    assert kinesis.get_resource_policy(ResourceARN=consumer)["Policy"] == POLICY  # each resource its own
    kinesis.delete_resource_policy(ResourceARN=arn)  # none left: still fine
    assert error_code(kinesis.put_resource_policy, ResourceARN=arn, Policy="not json") == "InvalidArgumentException"
    missing = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/missing"
    assert error_code(kinesis.put_resource_policy, ResourceARN=missing, Policy=POLICY) == "ResourceNotFoundException"


def test_a_stream_made_again_has_no_old_tags_or_policy(kinesis: Any) -> None:
    arn = create_stream(kinesis, "s", ShardCount=1, Tags={"old": "1"})
    kinesis.put_resource_policy(ResourceARN=arn, Policy=POLICY)
    kinesis.delete_stream(StreamName="s")
    wait(kinesis, "stream_not_exists", "s")
    assert create_stream(kinesis, "s", ShardCount=1) == arn
    assert tags_of(kinesis, arn) == {}
    assert error_code(kinesis.get_resource_policy, ResourceARN=arn) == "ResourceNotFoundException"


def test_account_settings_follow_the_commitment_on_the_servers_clock() -> None:
    time = FakeTime()
    with serve_in_thread(port=0, clock=time.clock) as server:
        kinesis = boto3_client(server)
        assert set(kinesis.describe_account_settings()) == {"ResponseMetadata"}  # never committed
        enabled = kinesis.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
        commitment = enabled["MinimumThroughputBillingCommitment"]
        assert commitment["Status"] == "ENABLED"
        assert commitment["StartedAt"] == datetime.fromtimestamp(FROZEN_NOW, UTC)
        assert commitment["EarliestAllowedEndAt"] == datetime.fromtimestamp(FROZEN_NOW + 24 * 3600, UTC)
        time.advance(3600)
        disabling = kinesis.update_account_settings(MinimumThroughputBillingCommitment={"Status": "DISABLED"})
        assert disabling["MinimumThroughputBillingCommitment"]["Status"] == "ENABLED_UNTIL_EARLIEST_ALLOWED_END"
        kinesis.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})  # cancels it
        assert kinesis.describe_account_settings()["MinimumThroughputBillingCommitment"]["Status"] == "ENABLED"
        kinesis.update_account_settings(MinimumThroughputBillingCommitment={"Status": "DISABLED"})
        time.advance(23 * 3600)
        ended = kinesis.describe_account_settings()["MinimumThroughputBillingCommitment"]
        assert (ended["Status"], ended["EndedAt"]) == ("DISABLED", commitment["EarliestAllowedEndAt"])
        assert set(boto3_client(server, "us-west-2").describe_account_settings()) == {"ResponseMetadata"}
        assert (
            error_code(
                kinesis.update_account_settings,
                MinimumThroughputBillingCommitment={"Status": "ENABLED_UNTIL_EARLIEST_ALLOWED_END"},
            )
            == "ValidationException"
        )


def test_max_record_size_and_warm_throughput(kinesis: Any) -> None:
    arn = create_stream(kinesis, "s", StreamModeDetails={"StreamMode": "ON_DEMAND"}, MaxRecordSizeInKiB=2048)
    summary = kinesis.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]
    assert summary["MaxRecordSizeInKiB"] == 2048
    kinesis.put_record(StreamARN=arn, Data=b"x" * (2 * 1024 * 1024 - 1), PartitionKey="k")
    kinesis.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=1024)
    assert error_code(kinesis.put_record, StreamARN=arn, Data=b"x" * (1024 * 1024 + 1), PartitionKey="k") == (
        "ValidationException"
    )
    assert error_code(kinesis.update_max_record_size, StreamARN=arn, MaxRecordSizeInKiB=10241) == "ValidationException"
    warm = kinesis.update_stream_warm_throughput(StreamARN=arn, WarmThroughputMiBps=100)
    assert (warm["StreamName"], warm["WarmThroughput"]["TargetMiBps"]) == ("s", 100)
    summary = kinesis.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]
    assert summary["WarmThroughput"]["TargetMiBps"] == 100
    assert error_code(kinesis.update_stream_warm_throughput, StreamARN=arn, WarmThroughputMiBps=10 * 1024 + 1) == (
        "LimitExceededException"
    )
    create_stream(kinesis, "p", ShardCount=1)
    assert error_code(kinesis.update_stream_warm_throughput, StreamName="p", WarmThroughputMiBps=10) == (
        "InvalidArgumentException"
    )
