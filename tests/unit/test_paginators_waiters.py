"""Paginators follow each token style; waiters poll on the injected clock and give up on time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from aioresponses import CallbackResult, aioresponses

import aiokinesis
from tests.fakes import FakeTime

from .conftest import ANY_URL

Reply = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]


def serve(http: aioresponses, reply: Reply) -> list[dict[str, Any]]:
    """Answer every request with reply(request body); returns the bodies seen."""
    bodies: list[dict[str, Any]] = []

    def callback(url: Any, **kwargs: Any) -> CallbackResult:
        body = orjson.loads(kwargs["data"])
        bodies.append(body)
        status, answer = reply(body)
        return CallbackResult(status=status, body=orjson.dumps(answer))

    http.post(ANY_URL, callback=callback, repeat=True)
    return bodies


def shard(n: int) -> dict[str, Any]:
    return {
        "ShardId": f"shardId-{n:012d}",
        "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "1"},
        "SequenceNumberRange": {"StartingSequenceNumber": "0"},
    }


async def test_list_shards_follows_next_token_without_the_stream_name(
    kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    def reply(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        page = int(body.get("NextToken", "0"))
        answer: dict[str, Any] = {"Shards": [shard(2 * page), shard(2 * page + 1)]}
        if page < 2:
            answer["NextToken"] = str(page + 1)
        return 200, answer

    bodies = serve(http, reply)
    ids = [s.shard_id async for s in kinesis.paginate.list_shards(stream_name="orders", max_results=2)]
    assert ids == [f"shardId-{n:012d}" for n in range(6)]
    assert bodies[0] == {"StreamName": "orders", "MaxResults": 2}
    assert bodies[1:] == [{"NextToken": "1", "MaxResults": 2}, {"NextToken": "2", "MaxResults": 2}]


async def test_list_shards_restarts_after_the_last_shard_when_a_token_expires(
    kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    expired_once: list[bool] = []

    def reply(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if body.get("NextToken") == "t1" and not expired_once:
            expired_once.append(True)
            return 400, {"__type": "ExpiredNextTokenException", "message": "expired"}
        if body.get("NextToken") == "t2":
            return 200, {"Shards": [shard(3)]}
        start = body.get("ExclusiveStartShardId")
        if start is None:
            return 200, {"Shards": [shard(0), shard(1)], "NextToken": "t1"}
        assert start == "shardId-000000000001"
        return 200, {"Shards": [shard(2)], "NextToken": "t2"}

    bodies = serve(http, reply)
    ids = [s.shard_id async for s in kinesis.paginate.list_shards(stream_name="orders")]
    assert ids == [f"shardId-{n:012d}" for n in range(4)]  # none lost, none repeated
    assert bodies[2] == {"StreamName": "orders", "ExclusiveStartShardId": "shardId-000000000001"}


async def test_describe_stream_pages_by_exclusive_start_shard_id(
    kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    def reply(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        start = body.get("ExclusiveStartShardId")
        first = 0 if start is None else int(start.rsplit("-", 1)[1]) + 1
        shards = [shard(n) for n in range(first, min(first + 2, 5))]
        return 200, {
            "StreamDescription": {
                "StreamName": "s",
                "StreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/s",
                "StreamStatus": "ACTIVE",
                "Shards": shards,
                "HasMoreShards": first + 2 < 5,
                "RetentionPeriodHours": 24,
                "StreamCreationTimestamp": 1700000000,
                "EnhancedMonitoring": [],
            }
        }

    serve(http, reply)
    ids = [s.shard_id async for s in kinesis.paginate.describe_stream(stream_name="s", limit=2)]
    assert ids == [f"shardId-{n:012d}" for n in range(5)]


async def test_list_tags_for_stream_pages_by_exclusive_start_tag_key(
    kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    tags = [{"Key": f"k{n}", "Value": str(n)} for n in range(5)]

    def reply(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        start = body.get("ExclusiveStartTagKey")
        first = 0 if start is None else int(start[1:]) + 1
        return 200, {"Tags": tags[first : first + 2], "HasMoreTags": first + 2 < 5}

    serve(http, reply)
    got = [(t.key, t.value) async for t in kinesis.paginate.list_tags_for_stream(stream_name="s", limit=2)]
    assert got == [(f"k{n}", str(n)) for n in range(5)]


async def test_list_streams_stops_when_has_more_streams_is_false(
    kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    def reply(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if "NextToken" not in body:
            return 200, {"StreamNames": ["a", "b"], "HasMoreStreams": True, "NextToken": "n"}
        return 200, {"StreamNames": ["c"], "HasMoreStreams": False, "NextToken": "ignored"}

    bodies = serve(http, reply)
    assert [n async for n in kinesis.paginate.list_streams(limit=2)] == ["a", "b", "c"]
    assert bodies == [{"Limit": 2}, {"Limit": 2, "NextToken": "n"}]


async def test_list_streams_without_next_token_pages_by_name(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    names = ["a", "b", "c"]

    def reply(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        start = body.get("ExclusiveStartStreamName")
        first = 0 if start is None else names.index(start) + 1
        return 200, {"StreamNames": names[first : first + 1], "HasMoreStreams": first + 1 < len(names)}

    bodies = serve(http, reply)
    assert [n async for n in kinesis.paginate.list_streams(limit=1)] == names
    assert [b.get("ExclusiveStartStreamName") for b in bodies] == [None, "a", "b"]


async def test_list_stream_consumers_keeps_the_stream_arn(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    arn = "arn:aws:kinesis:us-east-1:123456789012:stream/s"

    def reply(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        consumer = {
            "ConsumerName": "c",
            "ConsumerARN": f"{arn}/consumer/c:1",
            "ConsumerStatus": "ACTIVE",
            "ConsumerCreationTimestamp": 1,
        }
        return 200, {"Consumers": [consumer], **({} if "NextToken" in body else {"NextToken": "n"})}

    bodies = serve(http, reply)
    assert len([c async for c in kinesis.paginate.list_stream_consumers(stream_arn=arn)]) == 2
    assert all(b["StreamARN"] == arn for b in bodies)


def summary(status: str) -> dict[str, Any]:
    return {
        "StreamDescriptionSummary": {
            "StreamName": "s",
            "StreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/s",
            "StreamStatus": status,
            "RetentionPeriodHours": 24,
            "StreamCreationTimestamp": 1700000000,
            "EnhancedMonitoring": [],
            "OpenShardCount": 1,
        }
    }


async def test_stream_exists_waits_through_missing_and_creating(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    answers = iter(
        [
            (400, {"__type": "ResourceNotFoundException", "message": ""}),
            (200, summary("CREATING")),
            (200, summary("ACTIVE")),
        ]
    )
    serve(http, lambda body: next(answers))
    found = await kinesis.wait.stream_exists(stream_name="s", delay=2)
    assert found.stream_status == aiokinesis.StreamStatus.ACTIVE
    assert fake_time.sleeps == [2, 2]


async def test_waiters_give_up_at_their_deadline(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    serve(http, lambda body: (200, summary("CREATING")))
    with pytest.raises(aiokinesis.WaiterError, match="after 30 s"):
        await kinesis.wait.stream_exists(stream_name="s", delay=10, max_wait=30)
    assert fake_time.sleeps == [10, 10, 10]


async def test_stream_not_exists_and_errors_other_than_not_found_propagate(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    answers = iter([(200, summary("DELETING")), (400, {"__type": "ResourceNotFoundException", "message": ""})])
    serve(http, lambda body: next(answers))
    await kinesis.wait.stream_not_exists(stream_name="s", delay=1)
    assert fake_time.sleeps == [1]

    http.clear()
    serve(http, lambda body: (400, {"__type": "AccessDeniedException", "message": "no"}))
    with pytest.raises(aiokinesis.AccessDeniedException):
        await kinesis.wait.stream_not_exists(stream_name="s")


async def test_consumer_active(kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime) -> None:
    arn = "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1"

    def description(status: str) -> tuple[int, dict[str, Any]]:
        return 200, {
            "ConsumerDescription": {
                "ConsumerName": "c",
                "ConsumerARN": arn,
                "ConsumerStatus": status,
                "ConsumerCreationTimestamp": 1,
                "StreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/s",
            }
        }

    answers = iter([description("CREATING"), description("ACTIVE")])
    serve(http, lambda body: next(answers))
    found = await kinesis.wait.consumer_active(consumer_arn=arn, delay=0.5)
    assert found.consumer_arn == arn
    assert fake_time.sleeps == [0.5]
