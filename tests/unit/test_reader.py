"""The reader's own decoding of GetRecords answers, against answers no server sends."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import orjson
import pytest
from aioresponses import aioresponses

import aiokinesis
from aiokinesis import AccessDeniedException, GetShardIteratorOutput, InternalFailureException, ListShardsOutput
from aiokinesis._runtime import Runtime
from aiokinesis._shardmap import hash_key_of
from aiokinesis.aggregation import UserRecord, aggregate
from tests.fakes import FakeTime
from tests.producer_harness import shard

from .conftest import ANY_URL

if TYPE_CHECKING:
    from aiokinesis._generated.operations import Operations
    from aiokinesis._protocol import OperationSpec

T = TypeVar("T")


@pytest.mark.parametrize(
    "answer",
    [
        {"NextShardIterator": "it"},  # no Records
        {"Records": None, "NextShardIterator": "it"},  # empty, but not a list: not taken for an empty page
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
    assert (got.data, got.partition_key, got.sequence_number, got.shard_id) == (
        b"hi",
        None,
        "7",
        "shardId-0",
    )  # no PartitionKey: keyless (AUTO)
    assert got.approximate_arrival_timestamp is not None
    assert got.approximate_arrival_timestamp.timestamp() == 1.5
    assert reader.ended
    assert reader.child_shards == []


async def test_each_record_keeps_its_own_arrival_in_runs_of_equal_ones(
    kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    """Runs of equal, missing and integer arrival times: every record gets its own time."""
    stamps: list[float | int | None] = [1.5, 1.5, 2.25, 1.5, None, None, 2.25, 7, 7.0, 7]
    records = [
        {"SequenceNumber": str(n), "Data": "eA==", **({} if s is None else {"ApproximateArrivalTimestamp": s})}
        for n, s in enumerate(stamps)
    ]
    http.post(ANY_URL, body=orjson.dumps({"ShardIterator": "it-0"}))
    http.post(ANY_URL, body=orjson.dumps({"Records": records, "NextShardIterator": "it-1"}))
    reader = kinesis.read_shard("s", "shardId-0", start=aiokinesis.StartingPosition.trim_horizon())
    batch = await reader.next_batch()
    assert batch is not None
    got = [r.approximate_arrival_timestamp for r in batch.records]
    assert [None if t is None else t.timestamp() for t in got] == stamps


async def test_a_boolean_arrival_after_an_equal_number_is_still_refused(
    kinesis: aiokinesis.Client, http: aioresponses
) -> None:
    """True == 1, but True is not a timestamp: a run of equal times is judged by type as well."""
    records = [
        {"SequenceNumber": str(n), "Data": "eA==", "ApproximateArrivalTimestamp": s} for n, s in enumerate([1, True])
    ]
    http.post(ANY_URL, body=orjson.dumps({"ShardIterator": "it-0"}))
    http.post(ANY_URL, body=orjson.dumps({"Records": records, "NextShardIterator": "it-1"}))
    reader = kinesis.read_shard("s", "shardId-0", start=aiokinesis.StartingPosition.trim_horizon())
    with pytest.raises(aiokinesis.ProtocolError) as caught:
        await reader.next_batch()
    assert caught.value.member == "Records[1].ApproximateArrivalTimestamp"


# -- aggregates and the shard's hash range ------------------------------------------------------

HALF = 2**127
LOW_KEYS = [k for k in (f"key-{i}" for i in range(50)) if hash_key_of(k) < HALF][:3]
HIGH_KEYS = [k for k in (f"key-{i}" for i in range(50)) if hash_key_of(k) >= HALF][:3]
LOW_RANGE = (0, HALF - 1)


def wire(sequence: str, data: bytes, key: str = "k") -> dict[str, object]:
    return {"SequenceNumber": sequence, "Data": base64.b64encode(data).decode(), "PartitionKey": key}


def page(*records: dict[str, object], next_iterator: str | None = "it-next") -> dict[str, object]:
    return {"Records": list(records), "NextShardIterator": next_iterator, "MillisBehindLatest": 0}


MIXED = aggregate(
    [
        UserRecord(LOW_KEYS[0], None, b"low-0"),
        UserRecord(HIGH_KEYS[0], None, b"high-0"),  # the sibling's: dropped
        UserRecord(LOW_KEYS[1], None, b"low-1"),
        UserRecord(HIGH_KEYS[1], str(HALF - 1), b"explicit-low"),  # its explicit hash key decides: kept
        UserRecord(LOW_KEYS[2], str(HALF), b"explicit-high"),  # dropped
        UserRecord(HIGH_KEYS[2], None, b"high-2"),  # dropped
    ]
)


class FakeOperations:
    """GetShardIterator and ListShards (two pages, or a given error) for a reader under test."""

    def __init__(self, list_error: BaseException | None = None) -> None:
        self.list_calls: list[dict[str, Any]] = []
        self.list_error = list_error
        self.iterators = 0

    async def get_shard_iterator(self, **request: Any) -> GetShardIteratorOutput:
        self.iterators += 1
        return GetShardIteratorOutput(shard_iterator=f"it-{self.iterators - 1}")

    async def list_shards(self, **request: Any) -> ListShardsOutput:
        self.list_calls.append(request)
        if self.list_error is not None:
            error, self.list_error = self.list_error, None
            raise error
        if request.get("next_token") is None:  # our shard is on the second page
            return ListShardsOutput(shards=[shard("shardId-0", 0, 2**128 - 1, closed=True)], next_token="more")
        return ListShardsOutput(shards=[shard("shardId-1", *LOW_RANGE), shard("shardId-2", HALF, 2**128 - 1)])


class CannedInvoker:
    """Answers each GetRecords with the next canned page, and notes the iterator it was given."""

    def __init__(self, *answers: dict[str, object]) -> None:
        self.answers = list(answers)
        self.iterators: list[str] = []

    async def invoke(self, spec: OperationSpec, body: dict[str, Any], parse: Callable[[dict[str, Any]], T]) -> T:
        self.iterators.append(body["ShardIterator"])
        return parse(self.answers.pop(0))


def make_reader(
    operations: FakeOperations, invoker: CannedInvoker, hash_range: tuple[int, int] | None = None
) -> aiokinesis.ShardReader:
    fake = FakeTime()
    return aiokinesis.ShardReader(
        cast("Operations", operations),
        invoker,
        "shardId-1",
        aiokinesis.StartingPosition.trim_horizon(),
        stream_name="s",
        config=aiokinesis.ReaderConfig(min_interval=0),
        runtime=Runtime(clock=fake.clock, sleep=fake.sleep, rand=lambda: 1.0),
        hash_range=hash_range,
    )


def seen(batch: aiokinesis.ReadBatch | None) -> list[tuple[bytes, str, int, bool]]:
    assert batch is not None
    return [(r.data, r.sequence_number, r.sub_sequence_number, r.aggregated) for r in batch.records]


KEPT_OF_MIXED = [(b"low-0", "2", 0, True), (b"low-1", "2", 2, True), (b"explicit-low", "2", 3, True)]


async def test_a_given_range_drops_the_siblings_user_records_and_keeps_their_places() -> None:
    operations = FakeOperations()
    reader = make_reader(
        operations, CannedInvoker(page(wire("1", b"plain", HIGH_KEYS[0]), wire("2", MIXED))), LOW_RANGE
    )
    got = seen(await reader.next_batch())
    # A plain record is where Kinesis put it; of the aggregate only this shard's user records stay,
    # each with its own sub-sequence number (a checkpoint inside the aggregate counts on it).
    assert got == [(b"plain", "1", 0, False), *KEPT_OF_MIXED]
    assert reader.dropped == 3
    assert reader.last_sequence_number == "2"
    assert operations.list_calls == []  # the range was given


async def test_the_range_is_listed_once_at_the_first_aggregate() -> None:
    operations = FakeOperations()
    invoker = CannedInvoker(
        page(wire("1", b"plain")),
        page(wire("2", MIXED)),
        page(wire("3", MIXED), next_iterator=None),
    )
    reader = make_reader(operations, invoker)
    assert seen(await reader.next_batch()) == [(b"plain", "1", 0, False)]
    assert operations.list_calls == []  # no aggregate yet: nothing to look up
    assert reader.hash_range is None
    assert seen(await reader.next_batch()) == KEPT_OF_MIXED
    assert reader.hash_range == LOW_RANGE  # found on ListShards' second page
    assert len(operations.list_calls) == 2  # the two pages of one listing
    assert [(d, s) for d, s, _, _ in seen(await reader.next_batch())] == [(d, "3") for d, _, _, _ in KEPT_OF_MIXED]
    assert len(operations.list_calls) == 2  # once
    assert reader.dropped == 6


async def test_a_listing_that_fails_transiently_is_retried_and_the_page_read_again() -> None:
    operations = FakeOperations(list_error=InternalFailureException("InternalFailure", "", status=500, request_id=None))
    invoker = CannedInvoker(page(wire("2", MIXED)), page(wire("2", MIXED)))
    reader = make_reader(operations, invoker)
    assert seen(await reader.next_batch()) == KEPT_OF_MIXED
    assert invoker.iterators == ["it-0", "it-0"]  # the same page again: nothing skipped
    assert reader.retries == 1


async def test_without_permission_to_list_shards_nothing_is_dropped() -> None:
    denied = AccessDeniedException("AccessDeniedException", "no ListShards", status=400, request_id=None)
    reader = make_reader(FakeOperations(list_error=denied), CannedInvoker(page(wire("2", MIXED))))
    batch = await reader.next_batch()
    assert batch is not None
    assert len(batch.records) == 6
    assert reader.dropped == 0
    assert reader.hash_range == (0, 2**128 - 1)
