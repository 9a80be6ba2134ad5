"""The queue faults of aiokinesis.testing (throttling, per-entry failures, a duplicate delivery, an
expired receipt handle), and the queue operations driven by boto3, code we did not write."""

from __future__ import annotations

from collections.abc import AsyncIterator

import boto3
import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import aiokinesis
from aiokinesis.testing import Fault, FaultKind, KinesisServer, Limits, serve_in_thread
from tests.fakes import FakeTime
from tests.faults.test_boto3 import BOTO_MODEL

Ack = aiokinesis.AcknowledgeQueueRecordsRequestEntry
Visibility = aiokinesis.UpdateQueueRecordsVisibilityRequestEntry


@pytest.fixture
async def server(fake_time: FakeTime) -> AsyncIterator[KinesisServer]:
    async with KinesisServer(limits=Limits(enabled=False), clock=fake_time.clock, seed=7) as local:
        local.backend.create_stream("s", 2, mode="ON_DEMAND")
        yield local


@pytest.fixture
async def queue(kinesis: aiokinesis.Client, server: KinesisServer) -> str:
    position = aiokinesis.QueueStartingPosition(type="TRIM_HORIZON")
    config = aiokinesis.QueueStreamConfiguration(stream_arn=server.backend.streams["s"].arn, starting_position=position)
    created = await kinesis.create_queue(queue_name="q", stream_configuration_list=[config])
    for key in ("a", "b", "c", "d"):
        await kinesis.put_record(stream_name="s", data=key.encode(), partition_key=key)
    return created.queue_description.queue_arn


async def test_throttle_is_throttling_exception_on_queue_data_and_limit_exceeded_on_control(
    kinesis: aiokinesis.Client, server: KinesisServer, queue: str
) -> None:
    receive = server.inject(Fault(kind=FaultKind.THROTTLE, operation="ReceiveQueueRecords"))
    with pytest.raises(aiokinesis.ThrottlingException) as caught:
        await kinesis.receive_queue_records(queue_arn=queue)
    assert caught.value.throttling
    assert receive.fired == 1
    server.inject(Fault(kind=FaultKind.THROTTLE, operation="AcknowledgeQueueRecords"))
    with pytest.raises(aiokinesis.ThrottlingException):
        await kinesis.acknowledge_queue_records(queue_arn=queue, entries=[Ack(receipt_handle="h")])
    server.inject(Fault(kind=FaultKind.THROTTLE, operation="DescribeQueue"))
    with pytest.raises(aiokinesis.LimitExceededException):
        await kinesis.describe_queue(queue_arn=queue)
    server.inject(Fault(kind=FaultKind.THROTTLE, stream="s", operation="ReceiveDeadLetterQueueRecords"))
    with pytest.raises(aiokinesis.ThrottlingException):  # targeted by the queue's stream
        await kinesis.receive_dead_letter_queue_records(queue_arn=queue)


async def test_partial_failure_fails_a_share_of_the_entries_and_leaves_them_in_flight(
    kinesis: aiokinesis.Client, server: KinesisServer, queue: str, fake_time: FakeTime
) -> None:
    records = (await kinesis.receive_queue_records(queue_arn=queue, visibility_timeout_seconds=10)).queue_records
    fault = server.inject(Fault(kind=FaultKind.PARTIAL_FAILURE, operation="AcknowledgeQueueRecords"))
    answer = await kinesis.acknowledge_queue_records(
        queue_arn=queue, entries=[Ack(receipt_handle=r.receipt_handle) for r in records]
    )
    assert fault.fired == 1
    assert answer.successful == []
    assert {f.error_code for f in answer.failed} == {"InternalFailureException"}
    assert [f.receipt_handle for f in answer.failed] == [r.receipt_handle for r in records]
    fake_time.advance(10)  # nothing was acknowledged: all come back
    again = (await kinesis.receive_queue_records(queue_arn=queue)).queue_records
    assert [r.receive_count for r in again] == [2, 2, 2, 2]
    server.inject(
        Fault(
            kind=FaultKind.PARTIAL_FAILURE,
            operation="UpdateQueueRecordsVisibility",
            share=0.5,
            error_code="ThrottlingException",
        )
    )
    changed = await kinesis.update_queue_records_visibility(
        queue_arn=queue,
        entries=[Visibility(receipt_handle=r.receipt_handle, visibility_timeout_seconds=0) for r in again],
    )
    assert {f.error_code for f in changed.failed} == {"ThrottlingException"}
    assert 0 < len(changed.failed) < 4  # seed 7: a share of them
    assert len(changed.successful) + len(changed.failed) == 4
    visible = (await kinesis.receive_queue_records(queue_arn=queue)).queue_records
    assert len(visible) == len(changed.successful)  # the failed entries kept their timeout


async def test_a_duplicate_delivery_hands_out_a_record_in_flight_again(
    kinesis: aiokinesis.Client, server: KinesisServer, queue: str
) -> None:
    fault = server.inject(Fault(kind=FaultKind.DUPLICATE_DELIVERY, operation="ReceiveQueueRecords"))
    (first,) = (await kinesis.receive_queue_records(queue_arn=queue, limit=1)).queue_records
    assert fault.fired == 0  # nothing was in flight: it waits for a receive it can strike
    duplicated = (await kinesis.receive_queue_records(queue_arn=queue, limit=2)).queue_records
    assert fault.fired == 1
    assert [r.record_id for r in duplicated][:1] == [first.record_id]
    copy = duplicated[0]
    assert copy.receipt_handle != first.receipt_handle
    assert copy.receive_count == 2
    assert duplicated[1].record_id != first.record_id
    answer = await kinesis.acknowledge_queue_records(
        queue_arn=queue, entries=[Ack(receipt_handle=first.receipt_handle)]
    )
    assert len(answer.successful) == 1  # the first delivery's handle stays valid
    answer = await kinesis.acknowledge_queue_records(queue_arn=queue, entries=[Ack(receipt_handle=copy.receipt_handle)])
    assert [f.error_code for f in answer.failed] == ["ResourceNotFoundException"]  # acknowledged already


async def test_an_expired_receipt_handle_fails_its_entry_and_the_record_comes_back(
    kinesis: aiokinesis.Client, server: KinesisServer, queue: str
) -> None:
    records = (await kinesis.receive_queue_records(queue_arn=queue, visibility_timeout_seconds=600)).queue_records
    fault = server.inject(Fault(kind=FaultKind.EXPIRED_RECEIPT_HANDLE, operation="AcknowledgeQueueRecords"))
    server.inject(Fault(kind=FaultKind.EXPIRED_RECEIPT_HANDLE, operation="PutRecord"))  # no queue there: stays pending
    await kinesis.put_record(stream_name="s", data=b"e", partition_key="e")
    answer = await kinesis.acknowledge_queue_records(
        queue_arn=queue, entries=[Ack(receipt_handle=records[0].receipt_handle)]
    )
    assert fault.fired == 1
    assert [f.error_code for f in answer.failed] == ["InvalidArgumentException"]
    assert "expired" in (answer.failed[0].error_message or "")
    again = (await kinesis.receive_queue_records(queue_arn=queue)).queue_records
    assert [(r.data, r.receive_count) for r in again] == [(b"a", 2), (b"b", 2), (b"c", 2), (b"d", 2), (b"e", 1)]


@pytest.mark.skipif(
    "CreateQueue" not in BOTO_MODEL.operation_names,
    reason=f"botocore {botocore.__version__}'s Kinesis model has no queues: boto3 cannot call them",
)
def test_boto3_drives_a_queue_through_receive_dead_letters_and_restore() -> None:
    with serve_in_thread(limits=Limits(enabled=False), account="210987654321") as server:
        client = boto3.client(
            "kinesis",
            endpoint_url=server.endpoint_url,
            region_name="eu-west-2",
            aws_access_key_id="AKIDTEST",
            aws_secret_access_key="test-secret",
            config=Config(retries={"total_max_attempts": 1}),
        )
        client.create_stream(StreamName="s", StreamModeDetails={"StreamMode": "ON_DEMAND"})
        stream = client.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamARN"]
        created = client.create_queue(
            QueueName="q",
            StreamConfigurationList=[{"StreamARN": stream, "StartingPosition": {"Type": "TRIM_HORIZON"}}],
            QueueAttributes={
                "VisibilityTimeoutSeconds": 0,
                "DeadLetterConfiguration": {"TargetType": "BUILT_IN", "MaxReceiveCount": 1},
            },
        )["QueueDescription"]
        arn = created["QueueARN"]
        assert arn.startswith("arn:aws:kinesis:eu-west-2:210987654321:queue/")
        assert created["QueueStatus"] == "CREATING"
        assert client.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["QueueCount"] == 1
        client.put_record(StreamName="s", Data=b"payload", PartitionKey="k")
        (record,) = client.receive_queue_records(QueueARN=arn, WaitTimeSeconds=1)["QueueRecords"]
        assert record["Data"] == b"payload"
        assert record["ReceiveCount"] == 1
        assert record["FirstReceiveTimestamp"].tzinfo is not None
        (dead,) = client.receive_dead_letter_queue_records(QueueARN=arn, VisibilityTimeoutSeconds=30)["QueueRecords"]
        assert dead["RecordId"] == record["RecordId"]
        restored = client.restore_dead_letter_queue_records(
            QueueARN=arn, Entries=[{"ReceiptHandle": dead["ReceiptHandle"]}]
        )
        assert restored["Failed"] == []
        (back,) = client.receive_queue_records(QueueARN=arn, VisibilityTimeoutSeconds=30)["QueueRecords"]
        acked = client.acknowledge_queue_records(
            QueueARN=arn, Entries=[{"ReceiptHandle": back["ReceiptHandle"]}, {"ReceiptHandle": record["ReceiptHandle"]}]
        )
        assert [s["ReceiptHandle"] for s in acked["Successful"]] == [back["ReceiptHandle"]]
        assert [f["ErrorCode"] for f in acked["Failed"]] == ["ResourceNotFoundException"]
        listed = client.get_paginator("list_queues").paginate().build_full_result()
        assert [q["QueueARN"] for q in listed["QueueSummaries"]] == [arn]
        with pytest.raises(ClientError) as caught:
            client.receive_queue_records(QueueARN=arn, Limit=11)
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        client.delete_queue(QueueARN=arn)
        with pytest.raises(ClientError) as caught:
            client.describe_queue(QueueARN=arn)
        assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
