"""The reader's own decoding of GetRecords answers, against answers no server sends."""

from __future__ import annotations

import base64

import orjson
import pytest
from aioresponses import aioresponses

import aiokinesis

from .conftest import ANY_URL


@pytest.mark.parametrize(
    "answer",
    [
        {"NextShardIterator": "it"},  # no Records
        {"Records": [{"Data": base64.b64encode(b"x").decode()}], "NextShardIterator": "it"},  # no SequenceNumber
        {"Records": [{"SequenceNumber": "1", "Data": "***not base64***"}], "NextShardIterator": "it"},
    ],
)
async def test_a_malformed_answer_is_a_protocol_error(
    answer: dict[str, object], kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    http.post(ANY_URL, body=orjson.dumps({"ShardIterator": "it-0"}))
    http.post(ANY_URL, body=orjson.dumps(answer))
    reader = kinesis.read_shard("s", "shardId-0", start=aiokinesis.StartingPosition.trim_horizon())
    with pytest.raises(aiokinesis.ProtocolError, match="GetRecords"):
        await reader.next_batch()


async def test_records_decode_with_their_shard_and_arrival(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    record = {"SequenceNumber": "7", "Data": base64.b64encode(b"hi").decode(), "ApproximateArrivalTimestamp": 1.5}
    http.post(ANY_URL, body=orjson.dumps({"ShardIterator": "it-0"}))
    http.post(ANY_URL, body=orjson.dumps({"Records": [record], "NextShardIterator": None, "ChildShards": []}))
    reader = kinesis.read_shard("s", "shardId-0", start=aiokinesis.StartingPosition.trim_horizon())
    batch = await reader.next_batch()
    assert batch is not None
    [got] = batch.records
    assert (got.data, got.partition_key, got.sequence_number, got.shard_id) == (b"hi", "", "7", "shardId-0")
    assert got.approximate_arrival_timestamp is not None
    assert got.approximate_arrival_timestamp.timestamp() == 1.5
    assert reader.ended
    assert reader.child_shards == []
