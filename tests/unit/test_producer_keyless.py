"""Keyless writes: on a stream whose RecordDistributionStrategy is AUTO a record needs no partition
key (none goes on the wire) and the service spreads records over shards; elsewhere a key is required."""

from __future__ import annotations

import base64
import itertools
from typing import Any

import orjson
import pytest
from aioresponses import CallbackResult, aioresponses

import aiokinesis
from aiokinesis import ProducerConfig
from aiokinesis.aggregation import deaggregate
from tests.fakes import FakeTime
from tests.producer_harness import TOP, make_producer, running, settle, shard

from .conftest import ANY_URL, make_client

QUARTER = (TOP + 1) // 4
FOUR = [shard(f"shardId-{i}", i * QUARTER, (i + 1) * QUARTER - 1) for i in range(4)]


async def test_keyless_records_on_an_auto_stream_are_spread_over_every_shards_rate() -> None:
    # 1% of each shard's rate: 10 records a second a shard. Forty keyless records go at once,
    # ten on each of the four shards' budgets, in one request, none with a PartitionKey.
    harness = make_producer(ProducerConfig(linger=0.01, rate_limit=0.01), FOUR, strategy="AUTO")
    landed = itertools.cycle(["shardId-3", "shardId-1"])  # the service puts them where it likes
    async with running(harness) as producer:
        receipts = [await producer.put(f"r{i}".encode()) for i in range(40)]
        harness.time.advance(0.05)
        await settle()
        [call] = harness.invoker.pending()
        assert len(call.entries) == 40
        assert all(set(entry) == {"Data"} for entry in call.entries)
        call.land(lambda entry: next(landed))
        await settle()
        assert all(r.done() for r in receipts)
    assert [r.result().shard_id for r in receipts[:2]] == ["shardId-3", "shardId-1"]
    assert harness.kinesis.list_calls == 1  # landing anywhere is no sign of a reshard on AUTO


async def test_a_keyless_put_on_a_stream_routed_by_key_is_refused_before_the_wire() -> None:
    harness = make_producer(ProducerConfig(linger=0.01))
    async with running(harness) as producer:
        harness.time.advance(2)
        with pytest.raises(aiokinesis.ParamValidationError) as caught:
            await producer.put(b"no key")
        assert caught.value.field == "partition_key"
        assert "USER_PARTITION_KEY" in str(caught.value)
        assert harness.kinesis.describe_calls == 2  # the strategy was read again before refusing
        # UpdateStreamRecordDistributionStrategy to AUTO while the producer runs: picked up.
        harness.kinesis.strategy = "AUTO"
        harness.time.advance(2)
        receipt = await producer.put(b"no key")
        harness.time.advance(0.05)
        await settle()
        [call] = harness.invoker.pending()
        assert call.entries == [{"Data": base64.b64encode(b"no key").decode()}]
        call.land()
        await settle()
    assert receipt.result().shard_id == "shardId-0"


async def test_keyless_records_are_batched_freely_many_in_flight() -> None:
    # Ordering holds per key: keyless records have none, so their retries need not wait in line.
    harness = make_producer(ProducerConfig(linger=0.01, rate_limit=0, max_batch_records=2), strategy="AUTO")
    async with running(harness) as producer:
        receipts = [await producer.put(f"r{i}".encode()) for i in range(6)]
        harness.time.advance(0.05)
        await settle()
        assert [len(c.entries) for c in harness.invoker.pending()] == [2, 2, 2]  # three requests at once
        for call in harness.invoker.pending():
            call.land()
        await settle()
    assert all(r.result().attempts == 1 for r in receipts)


async def test_an_auto_stream_gets_no_aggregates() -> None:
    # Readers drop an aggregate's records outside the shard it lands on, and AUTO puts it anywhere.
    harness = make_producer(ProducerConfig(linger=0.01, aggregate=True), FOUR, strategy="AUTO")
    async with running(harness) as producer:
        receipts = [await producer.put(b"d", partition_key=f"k{i}") for i in range(5)]
        receipts.append(await producer.put(b"keyless"))
        harness.time.advance(0.05)
        await settle()
        entries = [e for call in harness.invoker.pending() for e in call.entries]
        for call in harness.invoker.pending():
            call.land("shardId-2")
        await settle()
    assert len(entries) == 6
    assert all(deaggregate(base64.b64decode(e["Data"])) is None for e in entries)
    assert all(r.result().sub_sequence_number is None for r in receipts)
    assert harness.kinesis.list_calls == 1


def answering(http: aioresponses, answers: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Answer each operation (by X-Amz-Target) with its canned body; keep what each request sent."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def reply(url: Any, **kwargs: Any) -> CallbackResult:
        operation = kwargs["headers"]["X-Amz-Target"].split(".")[1]
        seen.append((operation, orjson.loads(kwargs["data"])))
        return CallbackResult(body=orjson.dumps(answers[operation]))

    http.post(ANY_URL, callback=reply, repeat=True)
    return seen


async def test_keyless_puts_through_the_client_and_its_producer(fake_time: FakeTime, http: aioresponses) -> None:
    put = {"ShardId": "shardId-000000000000", "SequenceNumber": "1"}
    summary = {
        "StreamName": "s",
        "StreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/s",
        "StreamStatus": "ACTIVE",
        "RetentionPeriodHours": 24,
        "StreamCreationTimestamp": 1.7e9,
        "EnhancedMonitoring": [],
        "OpenShardCount": 1,
        "RecordDistributionStrategy": "AUTO",
    }
    listing = {
        "Shards": [
            {
                "ShardId": "shardId-000000000000",
                "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": str(TOP)},
                "SequenceNumberRange": {"StartingSequenceNumber": "0"},
            }
        ]
    }
    seen = answering(
        http,
        {
            "PutRecord": put,
            "PutRecords": {"Records": [put], "FailedRecordCount": 0},
            "DescribeStreamSummary": {"StreamDescriptionSummary": summary},
            "ListShards": listing,
        },
    )
    async with make_client(fake_time) as kinesis:
        await kinesis.put_record(stream_name="s", data=b"a")
        await kinesis.put_records(stream_name="s", records=[aiokinesis.PutRecordsRequestEntry(data=b"b")])
        async with kinesis.producer("s", config=ProducerConfig(linger=0)) as producer:
            receipt = await producer.put(b"c")
        assert (await receipt).shard_id == "shardId-000000000000"
    [single] = [body for operation, body in seen if operation == "PutRecord"]
    assert single == {"StreamName": "s", "Data": base64.b64encode(b"a").decode()}  # no PartitionKey
    batches = [body["Records"] for operation, body in seen if operation == "PutRecords"]
    assert batches == [[{"Data": base64.b64encode(b"b").decode()}], [{"Data": base64.b64encode(b"c").decode()}]]


async def test_a_request_refused_after_the_stream_left_auto_fails_only_its_keyless_records() -> None:
    # UpdateStreamRecordDistributionStrategy to USER_PARTITION_KEY with keyed and keyless records
    # in one request: the service refuses the request whole; the keyed ones are still good.
    harness = make_producer(ProducerConfig(linger=0.01, rate_limit=0), FOUR, strategy="AUTO")
    async with running(harness) as producer:
        keyless = await producer.put(b"no key")
        keyed = await producer.put(b"keyed", partition_key="k")
        harness.kinesis.strategy = "USER_PARTITION_KEY"
        harness.time.advance(2)
        await settle()
        [call] = harness.invoker.pending()
        assert len(call.entries) == 2
        call.raise_(
            aiokinesis.ValidationException(
                "ValidationException", "Value null at 'records.1.member.partitionKey'", status=400, request_id=None
            )
        )
        await settle()
        assert isinstance(keyless.exception(), aiokinesis.ValidationException)
        assert not keyed.done()  # back in its lane
        harness.time.advance(0.05)
        await settle()
        [again] = harness.invoker.pending()
        assert [e["PartitionKey"] for e in again.entries] == ["k"]
        again.land()
        await settle()
        with pytest.raises(aiokinesis.ParamValidationError, match="partition_key"):
            await producer.put(b"no key")  # the stream as read again: refused before the wire
    assert keyed.result().attempts == 2


async def test_two_requests_refused_after_the_stream_left_auto_keep_their_keyed_records() -> None:
    # Both went while the stream was AUTO; the second refusal comes after the first had the stream
    # read again: its keyed record is still good, and its keyless one still refused.
    harness = make_producer(ProducerConfig(linger=0.01, rate_limit=0), FOUR, strategy="AUTO")
    refused = aiokinesis.ValidationException("ValidationException", "partitionKey null", status=400, request_id=None)
    receipts = []
    async with running(harness) as producer:
        for key in ("a", "b"):
            receipts += [await producer.put(b"x"), await producer.put(b"y", partition_key=key)]
            harness.time.advance(0.05)
            await settle()
        calls = harness.invoker.pending()
        assert [[e.get("PartitionKey") for e in call.entries] for call in calls] == [[None, "a"], [None, "b"]]
        harness.kinesis.strategy = "USER_PARTITION_KEY"
        harness.time.advance(2)
        for call in calls:
            call.raise_(refused)
            await settle()
        assert harness.kinesis.describe_calls == 2  # read once more, by the first refusal
        harness.time.advance(0.05)
        await settle()
        for call in harness.invoker.pending():
            call.land()
        await settle()
    assert all(isinstance(r.exception(), aiokinesis.ValidationException) for r in receipts[::2])
    assert [r.result().attempts for r in receipts[1::2]] == [2, 2]
