"""boto3 against aiokinesis.testing: the 12 queue operations, dead letters included, in boto3's shapes.

Time is the server's clock (a FakeTime): visibility timeouts pass when the test says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from aiokinesis.testing import KinesisServer, serve_in_thread
from tests.conformance.sdks.conftest import boto3_client, create_stream, error_code
from tests.fakes import FakeTime


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def server(time: FakeTime) -> Iterator[KinesisServer]:
    with serve_in_thread(port=0, clock=time.clock) as local:
        yield local


@pytest.fixture
def kinesis(server: KinesisServer) -> Any:
    return boto3_client(server)


def queue_on_stream(kinesis: Any, *, max_receives: int = 2) -> tuple[str, str]:
    stream = create_stream(kinesis, "s", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    created = kinesis.create_queue(
        QueueName="work",
        StreamConfigurationList=[{"StreamARN": stream, "StartingPosition": {"Type": "TRIM_HORIZON"}}],
        QueueAttributes={
            "VisibilityTimeoutSeconds": 30,
            "DeadLetterConfiguration": {"TargetType": "BUILT_IN", "MaxReceiveCount": max_receives},
        },
    )["QueueDescription"]
    assert (created["QueueName"], created["QueueStatus"]) == ("work", "CREATING")
    return stream, created["QueueARN"]


def test_queues_are_created_described_listed_updated_and_deleted(kinesis: Any) -> None:
    stream, queue = queue_on_stream(kinesis)
    described = kinesis.describe_queue(QueueARN=queue)["QueueDescription"]
    assert described["QueueStatus"] == "ACTIVE"
    assert isinstance(described["QueueCreationTimestamp"], datetime)
    assert described["StreamConfigurationList"][0]["StreamARN"] == stream
    assert described["QueueAttributes"]["DeadLetterConfiguration"] == {"TargetType": "BUILT_IN", "MaxReceiveCount": 2}
    summaries = kinesis.list_queues(StreamFilter=[{"StreamARN": stream}])["QueueSummaries"]
    assert [(q["QueueARN"], q["Streams"][0]["StreamARN"]) for q in summaries] == [(queue, stream)]
    updated = kinesis.update_queue(QueueARN=queue, QueueAttributes={"VisibilityTimeoutSeconds": 60})
    assert updated["QueueDescription"]["QueueAttributes"]["VisibilityTimeoutSeconds"] == 60
    assert kinesis.describe_stream_summary(StreamARN=stream)["StreamDescriptionSummary"]["QueueCount"] == 1
    assert error_code(kinesis.delete_stream, StreamARN=stream) == "ResourceInUseException"
    kinesis.delete_queue(QueueARN=queue)
    assert error_code(kinesis.describe_queue, QueueARN=queue) == "ResourceNotFoundException"
    assert kinesis.list_queues()["QueueSummaries"] == []
    create_stream(kinesis, "p", ShardCount=1)
    provisioned = kinesis.describe_stream_summary(StreamName="p")["StreamDescriptionSummary"]["StreamARN"]
    assert (
        error_code(kinesis.create_queue, QueueName="no", StreamConfigurationList=[{"StreamARN": provisioned}])
        == "InvalidArgumentException"
    )


def test_records_are_received_acknowledged_and_made_visible_again(kinesis: Any, time: FakeTime) -> None:
    stream, queue = queue_on_stream(kinesis)
    kinesis.put_records(StreamARN=stream, Records=[{"Data": b"r%d" % i, "PartitionKey": "k"} for i in range(3)])
    received = kinesis.receive_queue_records(QueueARN=queue, Limit=2, WaitTimeSeconds=1)["QueueRecords"]
    assert [r["Data"] for r in received] == [b"r0", b"r1"]
    assert set(received[0]) == {
        "ReceiptHandle", "RecordId", "PartitionKey", "Data", "ApproximateArrivalTimestamp",
        "FirstReceiveTimestamp", "ReceiveCount",
    }  # fmt: skip
    assert received[0]["ReceiveCount"] == 1
    acked = kinesis.acknowledge_queue_records(
        QueueARN=queue, Entries=[{"ReceiptHandle": received[0]["ReceiptHandle"]}, {"ReceiptHandle": "bogus"}]
    )
    assert acked["Successful"] == [{"ReceiptHandle": received[0]["ReceiptHandle"]}]
    assert [(f["ReceiptHandle"], f["ErrorCode"]) for f in acked["Failed"]] == [("bogus", "InvalidArgumentException")]
    shown = kinesis.update_queue_records_visibility(
        QueueARN=queue, Entries=[{"ReceiptHandle": received[1]["ReceiptHandle"], "VisibilityTimeoutSeconds": 0}]
    )
    assert (len(shown["Successful"]), shown["Failed"]) == (1, [])
    again = kinesis.receive_queue_records(QueueARN=queue, WaitTimeSeconds=1)["QueueRecords"]
    assert [(r["Data"], r["ReceiveCount"]) for r in again] == [(b"r1", 2), (b"r2", 1)]
    time.advance(31)
    assert [r["Data"] for r in kinesis.receive_queue_records(QueueARN=queue, WaitTimeSeconds=1)["QueueRecords"]] == [
        b"r2"
    ]  # r1 was received twice: a dead letter now
    assert error_code(kinesis.receive_queue_records, QueueARN=queue, Limit=11) == "ValidationException"


def test_dead_letters_are_received_restored_and_discarded(kinesis: Any, time: FakeTime) -> None:
    stream, queue = queue_on_stream(kinesis, max_receives=1)
    kinesis.put_records(StreamARN=stream, Records=[{"Data": b"d%d" % i, "PartitionKey": "k"} for i in range(2)])
    assert len(kinesis.receive_queue_records(QueueARN=queue, WaitTimeSeconds=1)["QueueRecords"]) == 2
    time.advance(31)
    dead = kinesis.receive_dead_letter_queue_records(QueueARN=queue, WaitTimeSeconds=1)["QueueRecords"]
    assert [r["Data"] for r in dead] == [b"d0", b"d1"]
    handles = [{"ReceiptHandle": r["ReceiptHandle"]} for r in dead]
    hidden = kinesis.update_dead_letter_queue_records_visibility(
        QueueARN=queue, Entries=[{**handles[0], "VisibilityTimeoutSeconds": 0}]
    )
    assert hidden["Failed"] == []
    restored = kinesis.restore_dead_letter_queue_records(QueueARN=queue, Entries=[handles[1]])
    assert restored["Successful"] == [handles[1]]
    back = kinesis.receive_queue_records(QueueARN=queue, WaitTimeSeconds=1)["QueueRecords"]
    assert [(r["Data"], r["ReceiveCount"]) for r in back] == [(b"d1", 1)]
    fresh = kinesis.receive_dead_letter_queue_records(QueueARN=queue, WaitTimeSeconds=1)["QueueRecords"]
    discarded = kinesis.acknowledge_dead_letter_queue_records(
        QueueARN=queue, Entries=[{"ReceiptHandle": fresh[0]["ReceiptHandle"]}]
    )
    assert (len(discarded["Successful"]), discarded["Failed"]) == (1, [])
    assert fresh[0]["Data"] == b"d0"
    time.advance(31)  # d1, received its one time again, is a dead letter again; d0 is gone
    left = kinesis.receive_dead_letter_queue_records(QueueARN=queue, WaitTimeSeconds=1)["QueueRecords"]
    assert [r["Data"] for r in left] == [b"d1"]
