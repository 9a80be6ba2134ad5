"""Answers no honest server sends: every parse path raises ProtocolError naming the member, nothing else."""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aioresponses import CallbackResult, aioresponses
from botocore import xform_name

import aiokinesis
from aiokinesis._diagnose import response_misfit
from aiokinesis._eventstream import encode
from aiokinesis._protocol import read_timestamp

from .conftest import ANY_URL
from .samples import operation_sample, sample, to_wire
from .test_operations import GENERATED, SERVICE

WITH_OUTPUT = [name for name in GENERATED if SERVICE.operation_model(name).output_shape is not None]
# JSON can carry each of these; between them they break every kind of member: a number out of
# datetime's range, a bool, text neither base64 nor a date, a list of non-objects, an object
# where a list (or a scalar) belongs, lacking every required member.
HOSTILE: list[Any] = [1e20, True, "\u00e9 not base64, not a date", [1], {"x": 1}]
Path = tuple[str | int, ...]


def member_paths(value: Any, path: Path = ()) -> Iterator[Path]:
    """Every member of a sample answer, at every depth (the first item of each list)."""
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from member_paths(item, (*path, key))
    elif isinstance(value, list) and value:
        yield from member_paths(value[0], (*path, 0))


def replaced(doc: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    parent: Any = out
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return out


def shown(path: Path) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


@pytest.mark.parametrize("operation", WITH_OUTPUT)
async def test_every_member_of_every_answer_survives_hostile_values(
    operation: str, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    op_model = SERVICE.operation_model(operation)
    kwargs, _ = operation_sample(SERVICE, operation)
    _, params = sample(op_model.output_shape)
    good = to_wire(op_model.output_shape, params)
    answers: list[bytes] = []
    http.post(ANY_URL, callback=lambda url, **_: CallbackResult(body=answers.pop()), repeat=True)
    call = getattr(kinesis, xform_name(operation))
    refused: list[tuple[Path, Any, aiokinesis.ProtocolError]] = []
    for path in member_paths(good):
        for value in HOSTILE:
            answers.append(orjson.dumps(replaced(good, path, value)))
            try:
                await call(**kwargs)
            except aiokinesis.ProtocolError as exc:
                refused.append((path, value, exc))
    assert not answers
    for path, value, error in refused:
        # The only misfit is at the member replaced, or inside it (a member it lacks).
        assert error.member is not None, (path, value, error)
        assert error.member.startswith(shown(path)), (path, value, error)
        assert error.member in str(error)


@pytest.mark.parametrize("stamp", [1e20, -1e20, 1e300, 2**63 - 1, True, "yesterday", "2024-02-30T00:00:00", [], {}])
async def test_out_of_range_arrival_times_from_get_records_name_the_member(
    stamp: Any, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    record = {"SequenceNumber": "1", "Data": "eA==", "PartitionKey": "k", "ApproximateArrivalTimestamp": stamp}
    http.post(ANY_URL, body=orjson.dumps({"Records": [{**record, "ApproximateArrivalTimestamp": 1.5}, record]}))
    with pytest.raises(aiokinesis.ProtocolError) as caught:
        await kinesis.get_records(shard_iterator="it")
    assert caught.value.member == "Records[1].ApproximateArrivalTimestamp"
    assert "GetRecords: the response's Records[1].ApproximateArrivalTimestamp is" in str(caught.value)
    assert "not a timestamp" in str(caught.value)


async def test_the_shard_reader_names_an_out_of_range_arrival_time(
    kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    record = {"SequenceNumber": "1", "Data": base64.b64encode(b"x").decode(), "ApproximateArrivalTimestamp": 1e20}
    http.post(ANY_URL, body=orjson.dumps({"ShardIterator": "it-0"}))
    http.post(ANY_URL, body=orjson.dumps({"Records": [record], "NextShardIterator": "it-1"}))
    reader = kinesis.read_shard("s", "shardId-0", start=aiokinesis.StartingPosition.trim_horizon())
    with pytest.raises(aiokinesis.ProtocolError) as caught:
        await reader.next_batch()
    assert caught.value.member == "Records[0].ApproximateArrivalTimestamp"
    assert isinstance(caught.value.__cause__, OverflowError)


@pytest.mark.parametrize(
    ("event", "member"),
    [
        (
            {
                "Records": [{"SequenceNumber": "1", "Data": "eA==", "ApproximateArrivalTimestamp": 1e20}],
                "ContinuationSequenceNumber": "1",
                "MillisBehindLatest": 0,
            },
            "Records[0].ApproximateArrivalTimestamp",
        ),
        ({"Records": [{"SequenceNumber": "1", "Data": 5}], "ContinuationSequenceNumber": "1"}, "Records[0].Data"),
        ({"Records": {"a": 1}, "ContinuationSequenceNumber": "1", "MillisBehindLatest": 0}, "Records"),
        ({"ContinuationSequenceNumber": "1", "MillisBehindLatest": 0}, "Records"),
    ],
)
async def test_a_hostile_event_is_a_protocol_error_naming_the_member(
    event: dict[str, Any], member: str, kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    headers = {":message-type": "event", ":event-type": "SubscribeToShardEvent", ":content-type": "application/json"}
    http.post(ANY_URL, body=encode(headers, orjson.dumps(event)))
    out = await kinesis.subscribe_to_shard(
        consumer_arn="arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1",
        shard_id="shardId-0",
        starting_position=aiokinesis.StartingPosition.latest(),
    )
    async with out.event_stream as events:
        with pytest.raises(aiokinesis.ProtocolError) as caught:
            await anext(events)
    assert caught.value.member == member
    assert str(caught.value).startswith("SubscribeToShard: the response's")


async def test_an_event_that_is_not_an_object_is_a_protocol_error(
    kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    headers = {":message-type": "event", ":event-type": "SubscribeToShardEvent", ":content-type": "application/json"}
    http.post(ANY_URL, body=encode(headers, b"[1, 2]"))
    out = await kinesis.subscribe_to_shard(
        consumer_arn="arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1",
        shard_id="shardId-0",
        starting_position=aiokinesis.StartingPosition.latest(),
    )
    async with out.event_stream as events:
        with pytest.raises(aiokinesis.ProtocolError, match="is a list, not an object"):
            await anext(events)


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), float("-inf"), 1e20, -1e20, 10**30, -(10**30), True, False, [], "x"]
)
def test_timestamps_json_cannot_carry_are_refused_and_named(value: Any) -> None:
    """NaN, infinities and huge integers never come out of orjson, but the parser refuses them anyway."""
    with pytest.raises((TypeError, ValueError, OverflowError)) as raised:
        read_timestamp(value)
    answer = {"Records": [{"SequenceNumber": "1", "Data": "", "ApproximateArrivalTimestamp": value}]}
    error = response_misfit("GetRecords", answer, raised.value)
    assert error.member == "Records[0].ApproximateArrivalTimestamp"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1700000000.5, datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=UTC)),
        (1700000000, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("2023-11-14T22:13:20Z", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("2023-11-14T23:13:20+01:00", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("2023-11-14T22:13:20", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
    ],
)
def test_timestamps_still_parse(value: Any, expected: datetime) -> None:
    assert read_timestamp(value) == expected


def test_a_misfit_the_model_cannot_place_keeps_the_cause() -> None:
    error = response_misfit("PutRecords", {"Records": [{}], "FailedRecordCount": 0}, KeyError("ShardId"))
    assert error.member is None
    assert "KeyError('ShardId')" in str(error)
