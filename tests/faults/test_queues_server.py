"""aiokinesis.testing serves Kinesis queues: the 12 operations with AWS's shapes and error codes, on
the server's clock (visibility, receive counts, dead letters, restore, retention, long polling)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

import aiokinesis
from aiokinesis.aggregation import UserRecord, aggregate
from aiokinesis.testing import ApiError, KinesisServer, Limits
from tests.fakes import FakeTime
from tests.faults.backend_calls import call, refusal

Ack = aiokinesis.AcknowledgeQueueRecordsRequestEntry
Visibility = aiokinesis.UpdateQueueRecordsVisibilityRequestEntry
DAY = 24 * 3600.0


@pytest.fixture
async def server(fake_time: FakeTime) -> AsyncIterator[KinesisServer]:
    async with KinesisServer(limits=Limits(enabled=False), clock=fake_time.clock) as local:
        local.backend.create_stream("s", 2, mode="ON_DEMAND")
        local.backend.create_stream("provisioned", 1)
        yield local


def stream_arn(server: KinesisServer, name: str = "s") -> str:
    return server.backend.streams[name].arn


async def new_queue(
    kinesis: aiokinesis.Client,
    server: KinesisServer,
    *,
    start: str = "TRIM_HORIZON",
    timestamp: Any = None,
    attributes: aiokinesis.QueueAttributes | None = None,
    name: str = "q",
) -> str:
    position = aiokinesis.QueueStartingPosition(type=start, timestamp=timestamp)
    created = await kinesis.create_queue(
        queue_name=name,
        stream_configuration_list=[
            aiokinesis.QueueStreamConfiguration(stream_arn=stream_arn(server), starting_position=position)
        ],
        queue_attributes=attributes,
    )
    return created.queue_description.queue_arn


async def put(kinesis: aiokinesis.Client, *keys: str) -> list[str]:
    """One record per key (data = the key's bytes); their sequence numbers."""
    return [
        (await kinesis.put_record(stream_name="s", data=key.encode(), partition_key=key)).sequence_number
        for key in keys
    ]


def dead_letters(max_receive: int) -> aiokinesis.QueueAttributes:
    return aiokinesis.QueueAttributes(
        dead_letter_configuration=aiokinesis.DeadLetterConfiguration(
            target_type="BUILT_IN", max_receive_count=max_receive
        )
    )


async def test_a_queue_is_created_described_listed_counted_and_deleted(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    created = await kinesis.create_queue(
        queue_name="orders",
        stream_configuration_list=[
            aiokinesis.QueueStreamConfiguration(
                stream_arn=stream_arn(server), starting_position=aiokinesis.QueueStartingPosition(type="TRIM_HORIZON")
            )
        ],
    )
    answer = created.queue_description
    assert answer.queue_status == "CREATING"  # AWS answers CREATING; the position is not determined yet
    assert answer.stream_configuration_list[0].starting_position is not None
    assert answer.stream_configuration_list[0].starting_position.timestamp is None
    assert answer.queue_arn.startswith("arn:aws:kinesis:us-east-1:123456789012:queue/")
    assert "orders" not in answer.queue_arn  # AWS: the resource id is generated, not the name
    described = (await kinesis.describe_queue(queue_arn=answer.queue_arn)).queue_description
    assert described.queue_status == "ACTIVE"
    assert described.queue_attributes is not None
    assert described.queue_attributes.visibility_timeout_seconds == 30
    assert described.queue_attributes.dead_letter_configuration is not None
    assert described.queue_attributes.dead_letter_configuration.target_type == "BUILT_IN"
    assert described.queue_attributes.dead_letter_configuration.max_receive_count == 6
    start = described.stream_configuration_list[0].starting_position
    assert start is not None
    assert start.type == "TRIM_HORIZON"
    assert start.timestamp is not None  # once ACTIVE, the effective position's time
    second = await new_queue(kinesis, server, start="LATEST", name="audit")
    summary = (await kinesis.describe_stream_summary(stream_name="s")).stream_description_summary
    assert summary.queue_count == 2
    assert summary.consumer_count == 0
    listed = await kinesis.list_queues(max_results=1)
    assert len(listed.queue_summaries) == 1
    assert listed.next_token is not None
    rest = await kinesis.list_queues(next_token=listed.next_token)
    assert {q.queue_name for q in listed.queue_summaries + rest.queue_summaries} == {"orders", "audit"}
    assert rest.next_token is None
    filtered = await kinesis.list_queues(
        stream_filter=[aiokinesis.QueueStreamFilter(stream_arn=stream_arn(server, "provisioned"))]
    )
    assert filtered.queue_summaries == []
    with pytest.raises(aiokinesis.ResourceInUseException):  # AWS: delete every queue before the stream
        await kinesis.delete_stream(stream_name="s", enforce_consumer_deletion=True)
    with pytest.raises(aiokinesis.ResourceInUseException):  # and before leaving on-demand mode
        await kinesis.update_stream_mode(
            stream_arn=stream_arn(server),
            stream_mode_details=aiokinesis.StreamModeDetails(stream_mode=aiokinesis.StreamMode.PROVISIONED),
        )
    await kinesis.delete_queue(queue_arn=answer.queue_arn)
    await kinesis.delete_queue(queue_arn=second)
    with pytest.raises(aiokinesis.ResourceNotFoundException):
        await kinesis.describe_queue(queue_arn=answer.queue_arn)
    summary = (await kinesis.describe_stream_summary(stream_name="s")).stream_description_summary
    assert summary.queue_count == 0
    await kinesis.delete_stream(stream_name="s")


def test_create_queue_refuses_what_aws_refuses(server: KinesisServer) -> None:
    backend = server.backend

    def create(name: str = "q", stream: str = "s", start: Any = None, attributes: Any = None, **more: Any) -> ApiError:
        config: dict[str, Any] = {"StreamARN": stream_arn(server, stream) if stream in backend.streams else stream}
        if start is not None:
            config["StartingPosition"] = start
        request: dict[str, Any] = {"QueueName": name, "StreamConfigurationList": [config], **more}
        if attributes is not None:
            request["QueueAttributes"] = attributes
        return refusal(backend, "CreateQueue", **request)

    assert create(stream="provisioned").code == "InvalidArgumentException"  # on-demand streams only
    assert "ON_DEMAND" in create(stream="provisioned").message
    assert create(stream="arn:aws:kinesis:us-east-1:123456789012:stream/none").code == "ResourceNotFoundException"
    assert create(start={"Type": "AT_TIMESTAMP"}).code == "ValidationException"
    assert create(start={"Type": "LATEST", "Timestamp": 1.0}).code == "ValidationException"
    assert create(start={"Type": "EARLIEST"}).code == "ValidationException"  # the model's enum
    assert create(attributes={"VisibilityTimeoutSeconds": 43201}).code == "ValidationException"
    assert create(attributes={"DeadLetterConfiguration": {"TargetType": "BUILT_IN"}}).code == "ValidationException"
    bad = {"DeadLetterConfiguration": {"TargetType": "BUILT_IN", "MaxReceiveCount": 1001}}
    assert "maxReceiveCount" in create(attributes=bad).message.replace("MaxReceiveCount", "maxReceiveCount")
    assert create(name="a b").code == "ValidationException"
    two = {"StreamARN": stream_arn(server)}
    assert refusal(backend, "CreateQueue", QueueName="q", StreamConfigurationList=[two, two]).code == (
        "InvalidArgumentException"
    )
    call(backend, "CreateQueue", QueueName="q", StreamConfigurationList=[two])
    assert create().code == "ResourceInUseException"  # the name is taken in this account and region
    for i in range(19):  # AWS: a queue counts against the stream's 20 registered consumers
        call(backend, "RegisterStreamConsumer", StreamARN=stream_arn(server), ConsumerName=f"c{i}")
    assert create(name="q2").code == "LimitExceededException"
    assert refusal(backend, "DescribeQueue", QueueARN="arn:aws:kinesis:us-east-1:123456789012:queue/nope").code == (
        "ResourceNotFoundException"
    )


async def test_records_are_received_in_sequence_order_across_shards_then_acknowledged(
    kinesis: aiokinesis.Client, server: KinesisServer, fake_time: FakeTime
) -> None:
    arn = await new_queue(kinesis, server)
    sequences = await put(kinesis, "a", "b", "c", "d", "e")
    fake_time.advance(1)
    first = (await kinesis.receive_queue_records(queue_arn=arn, limit=3)).queue_records
    assert [r.record_id for r in first] == sequences[:3]  # RecordId: the sequence number, FIFO by it
    assert [r.data for r in first] == [b"a", b"b", b"c"]
    assert [r.partition_key for r in first] == ["a", "b", "c"]
    assert {r.receive_count for r in first} == {1}
    assert first[0].first_receive_timestamp.timestamp() == fake_time.now
    assert first[0].approximate_arrival_timestamp.timestamp() == fake_time.now - 1
    rest = (await kinesis.receive_queue_records(queue_arn=arn)).queue_records  # the first three are in flight
    assert [r.record_id for r in rest] == sequences[3:]
    acked = await kinesis.acknowledge_queue_records(
        queue_arn=arn, entries=[Ack(receipt_handle=r.receipt_handle) for r in first + rest]
    )
    assert len(acked.successful) == 5
    assert acked.failed == []
    fake_time.advance(3600)  # acknowledged records never come back
    assert call(server.backend, "ReceiveQueueRecords", QueueARN=arn)["QueueRecords"] == []
    again = await kinesis.acknowledge_queue_records(
        queue_arn=arn, entries=[Ack(receipt_handle=first[0].receipt_handle)]
    )
    assert [f.error_code for f in again.failed] == ["ResourceNotFoundException"]
    assert again.successful == []
    forged = await kinesis.acknowledge_queue_records(queue_arn=arn, entries=[Ack(receipt_handle="forged")])
    assert [f.error_code for f in forged.failed] == ["InvalidArgumentException"]


async def test_starting_positions_trim_horizon_latest_and_at_timestamp(
    kinesis: aiokinesis.Client, server: KinesisServer, fake_time: FakeTime
) -> None:
    old = await put(kinesis, "old")
    fake_time.advance(10)
    middle = await put(kinesis, "middle")
    since = fake_time.now
    horizon = await new_queue(kinesis, server, start="TRIM_HORIZON", name="horizon")
    latest = await new_queue(kinesis, server, start="LATEST", name="latest")
    at = await new_queue(kinesis, server, start="AT_TIMESTAMP", timestamp=datetime.fromtimestamp(since, UTC), name="at")
    new = await put(kinesis, "new")

    def ids(arn: str) -> list[str]:
        return [r["RecordId"] for r in call(server.backend, "ReceiveQueueRecords", QueueARN=arn)["QueueRecords"]]

    assert ids(horizon) == old + middle + new
    assert ids(latest) == new
    assert ids(at) == middle + new
    described = (await kinesis.describe_queue(queue_arn=at)).queue_description
    start = described.stream_configuration_list[0].starting_position
    assert start is not None
    assert start.timestamp is not None
    assert start.timestamp.timestamp() == since


async def test_a_record_past_its_visibility_timeout_is_redelivered_with_a_new_handle(
    kinesis: aiokinesis.Client, server: KinesisServer, fake_time: FakeTime
) -> None:
    arn = await new_queue(kinesis, server)
    await put(kinesis, "k")
    first = (await kinesis.receive_queue_records(queue_arn=arn, visibility_timeout_seconds=10)).queue_records[0]
    fake_time.advance(9.9)
    assert call(server.backend, "ReceiveQueueRecords", QueueARN=arn)["QueueRecords"] == []  # still in flight
    fake_time.advance(0.1)
    second = (await kinesis.receive_queue_records(queue_arn=arn)).queue_records[0]
    assert second.record_id == first.record_id
    assert second.receive_count == 2
    assert second.receipt_handle != first.receipt_handle
    assert second.first_receive_timestamp == first.first_receive_timestamp
    stale = await kinesis.acknowledge_queue_records(queue_arn=arn, entries=[Ack(receipt_handle=first.receipt_handle)])
    assert [f.error_code for f in stale.failed] == ["InvalidArgumentException"]  # an earlier delivery's handle
    assert "expired" in (stale.failed[0].error_message or "")
    done = await kinesis.acknowledge_queue_records(queue_arn=arn, entries=[Ack(receipt_handle=second.receipt_handle)])
    assert [s.receipt_handle for s in done.successful] == [second.receipt_handle]


async def test_a_handle_whose_visibility_passed_has_expired(
    kinesis: aiokinesis.Client, server: KinesisServer, fake_time: FakeTime
) -> None:
    arn = await new_queue(kinesis, server)
    await put(kinesis, "k")
    record = (await kinesis.receive_queue_records(queue_arn=arn, visibility_timeout_seconds=5)).queue_records[0]
    fake_time.advance(5)
    handle = record.receipt_handle
    late = await kinesis.acknowledge_queue_records(queue_arn=arn, entries=[Ack(receipt_handle=handle)])
    assert [f.error_code for f in late.failed] == ["InvalidArgumentException"]
    extended = await kinesis.update_queue_records_visibility(
        queue_arn=arn, entries=[Visibility(receipt_handle=handle, visibility_timeout_seconds=60)]
    )
    assert [f.error_code for f in extended.failed] == ["InvalidArgumentException"]
    assert len(call(server.backend, "ReceiveQueueRecords", QueueARN=arn)["QueueRecords"]) == 1  # visible again


async def test_visibility_is_extended_or_ended_from_the_time_of_the_request(
    kinesis: aiokinesis.Client, server: KinesisServer, fake_time: FakeTime
) -> None:
    arn = await new_queue(kinesis, server)
    await put(kinesis, "a", "b")
    a, b = (await kinesis.receive_queue_records(queue_arn=arn, visibility_timeout_seconds=10)).queue_records
    fake_time.advance(8)
    changed = await kinesis.update_queue_records_visibility(
        queue_arn=arn,
        entries=[
            Visibility(receipt_handle=a.receipt_handle, visibility_timeout_seconds=30),
            Visibility(receipt_handle=b.receipt_handle, visibility_timeout_seconds=0),
        ],
    )
    assert len(changed.successful) == 2
    assert changed.failed == []
    now = call(server.backend, "ReceiveQueueRecords", QueueARN=arn)["QueueRecords"]
    assert [(r["RecordId"], r["ReceiveCount"]) for r in now] == [(b.record_id, 2)]  # 0: visible at once
    fake_time.advance(29.9)
    assert call(server.backend, "ReceiveQueueRecords", QueueARN=arn, VisibilityTimeoutSeconds=1)["QueueRecords"] == []
    fake_time.advance(0.1)  # 30 s after the extension, not after the receive
    later = call(server.backend, "ReceiveQueueRecords", QueueARN=arn)["QueueRecords"]
    assert [r["RecordId"] for r in later] == [a.record_id, b.record_id]


async def test_update_queue_changes_the_timeout_of_records_received_after_it(
    kinesis: aiokinesis.Client, server: KinesisServer, fake_time: FakeTime
) -> None:
    arn = await new_queue(kinesis, server)
    await put(kinesis, "a", "b")
    call(server.backend, "ReceiveQueueRecords", QueueARN=arn, Limit=1)  # a: 30 s
    updated = await kinesis.update_queue(
        queue_arn=arn, queue_attributes=aiokinesis.QueueAttributes(visibility_timeout_seconds=5)
    )
    assert updated.queue_description.queue_status == "UPDATING"
    assert updated.queue_description.queue_attributes is not None
    assert updated.queue_description.queue_attributes.visibility_timeout_seconds == 5
    dead = updated.queue_description.queue_attributes.dead_letter_configuration
    assert dead is not None
    assert dead.max_receive_count == 6
    call(server.backend, "ReceiveQueueRecords", QueueARN=arn)  # b: 5 s
    fake_time.advance(5)
    again = call(server.backend, "ReceiveQueueRecords", QueueARN=arn)["QueueRecords"]
    assert [r["PartitionKey"] for r in again] == ["b"]


async def test_dead_letters_after_max_receive_count_then_restore_and_acknowledge(
    kinesis: aiokinesis.Client, server: KinesisServer, fake_time: FakeTime
) -> None:
    arn = await new_queue(kinesis, server, attributes=dead_letters(2))
    await put(kinesis, "poison", "other")
    for receive_count in (1, 2):
        got = (await kinesis.receive_queue_records(queue_arn=arn, visibility_timeout_seconds=1)).queue_records
        assert [r.receive_count for r in got] == [receive_count, receive_count]
        fake_time.advance(1)
    assert call(server.backend, "ReceiveQueueRecords", QueueARN=arn)["QueueRecords"] == []  # no longer returned
    dead = (await kinesis.receive_dead_letter_queue_records(queue_arn=arn, visibility_timeout_seconds=60)).queue_records
    assert [r.data for r in dead] == [b"poison", b"other"]
    assert [r.receive_count for r in dead] == [3, 3]  # the dead-letter receive counts too
    poison, other = dead
    wrong = await kinesis.acknowledge_queue_records(queue_arn=arn, entries=[Ack(receipt_handle=poison.receipt_handle)])
    assert [f.error_code for f in wrong.failed] == ["InvalidArgumentException"]  # a dead-letter handle
    assert call(server.backend, "ReceiveDeadLetterQueueRecords", QueueARN=arn)["QueueRecords"] == []  # in flight
    extended = await kinesis.update_dead_letter_queue_records_visibility(
        queue_arn=arn,
        entries=[
            aiokinesis.UpdateDeadLetterQueueRecordsVisibilityRequestEntry(
                receipt_handle=other.receipt_handle, visibility_timeout_seconds=0
            )
        ],
    )
    assert len(extended.successful) == 1
    restored = await kinesis.restore_dead_letter_queue_records(
        queue_arn=arn,
        entries=[aiokinesis.RestoreDeadLetterQueueRecordsRequestEntry(receipt_handle=poison.receipt_handle)],
    )
    assert len(restored.successful) == 1
    assert restored.failed == []
    back = (await kinesis.receive_queue_records(queue_arn=arn, visibility_timeout_seconds=1)).queue_records
    assert [(r.data, r.receive_count) for r in back] == [(b"poison", 1)]  # the count starts again
    fake_time.advance(1)
    assert call(server.backend, "ReceiveQueueRecords", QueueARN=arn, VisibilityTimeoutSeconds=1)["QueueRecords"]
    fake_time.advance(1)  # received MaxReceiveCount times again: a dead letter again
    assert call(server.backend, "ReceiveQueueRecords", QueueARN=arn)["QueueRecords"] == []
    both = (await kinesis.receive_dead_letter_queue_records(queue_arn=arn)).queue_records
    assert sorted(r.data for r in both) == [b"other", b"poison"]
    discarded = await kinesis.acknowledge_dead_letter_queue_records(
        queue_arn=arn,
        entries=[
            aiokinesis.AcknowledgeDeadLetterQueueRecordsRequestEntry(receipt_handle=r.receipt_handle) for r in both
        ],
    )
    assert len(discarded.successful) == 2
    fake_time.advance(3600)
    assert call(server.backend, "ReceiveDeadLetterQueueRecords", QueueARN=arn)["QueueRecords"] == []
    assert call(server.backend, "ReceiveQueueRecords", QueueARN=arn)["QueueRecords"] == []


async def test_target_type_none_redelivers_without_end(
    kinesis: aiokinesis.Client, server: KinesisServer, fake_time: FakeTime
) -> None:
    none = aiokinesis.QueueAttributes(dead_letter_configuration=aiokinesis.DeadLetterConfiguration(target_type="NONE"))
    arn = await new_queue(kinesis, server, attributes=none)
    described = (await kinesis.describe_queue(queue_arn=arn)).queue_description
    assert described.queue_attributes is not None
    assert described.queue_attributes.dead_letter_configuration is not None
    assert described.queue_attributes.dead_letter_configuration.target_type == "NONE"
    assert described.queue_attributes.dead_letter_configuration.max_receive_count is None
    await put(kinesis, "k")
    for count in range(1, 11):
        records = call(server.backend, "ReceiveQueueRecords", QueueARN=arn, VisibilityTimeoutSeconds=0)["QueueRecords"]
        assert [r["ReceiveCount"] for r in records] == [count]
    assert call(server.backend, "ReceiveDeadLetterQueueRecords", QueueARN=arn)["QueueRecords"] == []
    await kinesis.update_queue(queue_arn=arn, queue_attributes=dead_letters(3))  # now received 10 > 3 times
    assert call(server.backend, "ReceiveQueueRecords", QueueARN=arn)["QueueRecords"] == []
    assert len(call(server.backend, "ReceiveDeadLetterQueueRecords", QueueARN=arn)["QueueRecords"]) == 1


async def test_records_leave_the_queue_when_the_stream_retention_passes_them(
    kinesis: aiokinesis.Client, server: KinesisServer, fake_time: FakeTime
) -> None:
    arn = await new_queue(kinesis, server)
    await put(kinesis, "held", "waiting")
    held = (await kinesis.receive_queue_records(queue_arn=arn, limit=1, visibility_timeout_seconds=43200)).queue_records
    fake_time.advance(DAY - 1)
    await put(kinesis, "young")
    fake_time.advance(1)  # 24 h: the first two are past the stream's retention
    records = call(server.backend, "ReceiveQueueRecords", QueueARN=arn)["QueueRecords"]
    assert [r["PartitionKey"] for r in records] == ["young"]
    gone = await kinesis.acknowledge_queue_records(queue_arn=arn, entries=[Ack(receipt_handle=held[0].receipt_handle)])
    assert [f.error_code for f in gone.failed] == ["ResourceNotFoundException"]


async def test_a_kpl_aggregate_is_delivered_whole_and_a_keyless_record_has_no_key(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    arn = await new_queue(kinesis, server)
    blob = aggregate([UserRecord("a", None, b"1"), UserRecord("b", None, b"2")])
    await kinesis.put_record(stream_name="s", data=blob, partition_key="a")
    await kinesis.update_stream_record_distribution_strategy(
        stream_arn=stream_arn(server), record_distribution_strategy="AUTO"
    )
    await kinesis.put_record(stream_name="s", data=b"keyless")
    records = (await kinesis.receive_queue_records(queue_arn=arn)).queue_records
    assert [r.data for r in records] == [blob, b"keyless"]  # AWS does not interpret the data
    assert [r.partition_key for r in records] == ["a", None]


def test_receive_and_batch_requests_are_checked_against_the_model(server: KinesisServer) -> None:
    backend = server.backend
    arn = call(backend, "CreateQueue", QueueName="q", StreamConfigurationList=[{"StreamARN": stream_arn(server)}])[
        "QueueDescription"
    ]["QueueARN"]
    assert refusal(backend, "ReceiveQueueRecords", QueueARN=arn, Limit=11).code == "ValidationException"
    assert refusal(backend, "ReceiveQueueRecords", QueueARN=arn, WaitTimeSeconds=21).code == "ValidationException"
    assert refusal(backend, "ReceiveQueueRecords", QueueARN=arn, VisibilityTimeoutSeconds=-1).code == (
        "ValidationException"
    )
    eleven = [{"ReceiptHandle": "h"}] * 11
    assert refusal(backend, "AcknowledgeQueueRecords", QueueARN=arn, Entries=eleven).code == "ValidationException"
    assert refusal(backend, "AcknowledgeQueueRecords", QueueARN=arn, Entries=[]).code == "ValidationException"
    other = arn.replace("us-east-1", "eu-west-1")
    assert refusal(backend, "ReceiveQueueRecords", QueueARN=other).code == "ResourceNotFoundException"
    assert refusal(backend, "ReceiveQueueRecords", QueueARN="arn:aws:kinesis:x:1:queue/q").code == "ValidationException"


async def wait_for_a_long_poll(server: KinesisServer) -> None:
    for _ in range(2000):  # bounded: the receive reaches the server within a few loop turns
        if server.backend.receives_waiting:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the receive never started to wait")


async def test_a_long_poll_answers_as_soon_as_a_record_is_put(
    kinesis: aiokinesis.Client, server: KinesisServer, fake_time: FakeTime
) -> None:
    arn = await new_queue(kinesis, server)
    receive = asyncio.create_task(kinesis.receive_queue_records(queue_arn=arn, wait_time_seconds=20))
    await wait_for_a_long_poll(server)
    await put(kinesis, "k")
    records = (await receive).queue_records
    assert [r.data for r in records] == [b"k"]
    assert server.backend.receives_waiting == 0


async def test_a_long_poll_answers_when_a_record_becomes_visible_again(
    kinesis: aiokinesis.Client, server: KinesisServer, fake_time: FakeTime
) -> None:
    arn = await new_queue(kinesis, server)
    await put(kinesis, "k")
    call(server.backend, "ReceiveQueueRecords", QueueARN=arn, VisibilityTimeoutSeconds=10)
    receive = asyncio.create_task(kinesis.receive_queue_records(queue_arn=arn, wait_time_seconds=20))
    await wait_for_a_long_poll(server)
    fake_time.advance(10)
    records = (await receive).queue_records
    assert [r.receive_count for r in records] == [2]


async def test_a_long_poll_ends_empty_when_the_wait_passes_on_the_server_clock(
    kinesis: aiokinesis.Client, server: KinesisServer, fake_time: FakeTime
) -> None:
    arn = await new_queue(kinesis, server)
    receive = asyncio.create_task(kinesis.receive_queue_records(queue_arn=arn, wait_time_seconds=20))
    await wait_for_a_long_poll(server)
    fake_time.advance(20)
    assert (await receive).queue_records == []


async def test_a_long_poll_on_a_clock_that_does_not_move_ends_after_its_wait_in_real_time(
    kinesis: aiokinesis.Client, server: KinesisServer
) -> None:
    arn = await new_queue(kinesis, server)
    assert (await kinesis.receive_queue_records(queue_arn=arn, wait_time_seconds=1)).queue_records == []


def test_receipt_handles_are_opaque_and_unique_per_delivery(server: KinesisServer, fake_time: FakeTime) -> None:
    backend = server.backend
    arn = call(backend, "CreateQueue", QueueName="q", StreamConfigurationList=[{"StreamARN": stream_arn(server)}])[
        "QueueDescription"
    ]["QueueARN"]
    call(backend, "PutRecord", StreamName="s", Data=base64.b64encode(b"x").decode(), PartitionKey="k")
    handles = set()
    for _ in range(5):
        (record,) = call(backend, "ReceiveQueueRecords", QueueARN=arn, VisibilityTimeoutSeconds=0)["QueueRecords"]
        handles.add(record["ReceiptHandle"])
        assert 1 <= len(record["ReceiptHandle"]) <= 1024
    assert len(handles) == 5
