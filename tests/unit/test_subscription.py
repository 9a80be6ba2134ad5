"""SubscriptionSource with a fake StreamOpener and fake event streams, on a fake clock.

Each subscription the source opens takes the next scripted answer: a FakeStream (chunks of
event-stream frames, then the end or a hang) or an exception. Time is FakeTime's, except the
silence timer, which never fires unless a test says the stream is silent.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

import aiokinesis
from aiokinesis import FanOutConfig, StartingPosition
from aiokinesis._eventstream import encode
from aiokinesis._generated.models import (
    ConsumerDescription,
    ConsumerStatus,
    DescribeStreamConsumerOutput,
    HashKeyRange,
    ListShardsOutput,
    SequenceNumberRange,
    Shard,
)
from aiokinesis._protocol import OperationSpec
from aiokinesis._runtime import Runtime
from aiokinesis._shardmap import hash_key_of
from aiokinesis._subscription import SubscriptionSource
from aiokinesis.aggregation import UserRecord, aggregate
from tests.fakes import FakeTime

SHARD = "shardId-000000000007"
STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/s"
CONSUMER_ARN = f"{STREAM_ARN}/consumer/app:1"
WHOLE = (0, 2**128 - 1)
SILENCE = 35.0
CONFIG = FanOutConfig(silence_timeout=SILENCE, error_base_delay=0.1, throttle_base_delay=1.0, max_delay=30.0)


@dataclass
class Time(FakeTime):
    """FakeTime whose silence timer waits (cancelled when an event wins) unless `silent` is set."""

    silent: bool = False

    async def sleep(self, seconds: float) -> None:
        if seconds == SILENCE and not self.silent:
            await asyncio.Event().wait()
        await super().sleep(seconds)


def frame(doc: dict[str, Any], event_type: str = "SubscribeToShardEvent") -> bytes:
    headers = {":message-type": "event", ":event-type": event_type, ":content-type": "application/json"}
    return encode(headers, orjson.dumps(doc))


INITIAL = frame({}, "initial-response")


def event(
    sequences: list[int],
    continuation: int | None = None,
    *,
    millis: int = 0,
    children: list[dict[str, Any]] | None = None,
    key: str = "k",
) -> bytes:
    doc: dict[str, Any] = {
        "Records": [
            {
                "Data": base64.b64encode(f"r{n}".encode()).decode(),
                "PartitionKey": key,
                "SequenceNumber": str(n),
                "ApproximateArrivalTimestamp": 1_764_000_000.0,
            }
            for n in sequences
        ],
        "ContinuationSequenceNumber": None
        if continuation is None and not sequences
        else str(continuation if continuation is not None else sequences[-1]),
        "MillisBehindLatest": millis,
    }
    if children is not None:
        doc["ChildShards"] = children
    return frame(doc)


def exception_event(code: str, message: str = "injected") -> bytes:
    headers = {":message-type": "exception", ":exception-type": code, ":content-type": "application/json"}
    return encode(headers, orjson.dumps({"message": message}))


class FakeStream:
    """A BodyStream of scripted chunks (an exception is raised when reached), then the end or a hang."""

    def __init__(self, *chunks: bytes | Exception, hang: bool = False) -> None:
        self.chunks = deque(chunks)
        self.hang = hang
        self.reads = 0
        self.closed = False
        self.request_id: str | None = "req-1"

    async def read_chunk(self) -> bytes:
        assert not self.closed, "read after close"
        self.reads += 1
        if self.chunks:
            chunk = self.chunks.popleft()
            if isinstance(chunk, Exception):
                raise chunk
            return chunk
        if self.hang:
            await asyncio.Event().wait()
        return b""

    def close(self) -> None:
        self.closed = True


class FakeOpener:
    """A StreamOpener answering each SubscribeToShard with the next scripted stream or error."""

    def __init__(self, time: FakeTime, *answers: FakeStream | Exception) -> None:
        self.time = time
        self.answers = deque(answers)
        self.calls: list[tuple[float, dict[str, Any]]] = []

    async def open_stream(self, spec: OperationSpec, body: dict[str, Any], *, retries: bool = True) -> FakeStream:
        assert spec.name == "SubscribeToShard"
        assert not retries, "the source paces its own retries"
        self.calls.append((self.time.now, body))
        assert self.answers, "more subscriptions than the test scripted"
        answer = self.answers.popleft()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def positions(self) -> list[dict[str, Any]]:
        return [body["StartingPosition"] for _, body in self.calls]

    def gaps(self) -> list[float]:
        times = [when for when, _ in self.calls]
        return [later - earlier for earlier, later in itertools.pairwise(times)]


def shard(shard_id: str, *, closed: bool = False, parents: tuple[str | None, str | None] = (None, None)) -> Shard:
    return Shard(
        shard_id=shard_id,
        parent_shard_id=parents[0],
        adjacent_parent_shard_id=parents[1],
        hash_key_range=HashKeyRange(starting_hash_key="0", ending_hash_key=str(2**128 - 1)),
        sequence_number_range=SequenceNumberRange(
            starting_sequence_number="0", ending_sequence_number="9" if closed else None
        ),
    )


class FakeKinesis:
    """The two operations a ResourceNotFoundException makes the source look at."""

    def __init__(self, status: ConsumerStatus | None, shards: list[Shard]) -> None:
        self.status = status
        self.shards = shards

    async def describe_stream_consumer(self, **kwargs: Any) -> DescribeStreamConsumerOutput:
        if self.status is None:
            raise aiokinesis.ResourceNotFoundException(
                "ResourceNotFoundException", "no such consumer", status=400, request_id=None
            )
        return DescribeStreamConsumerOutput(
            consumer_description=ConsumerDescription(
                consumer_name="app",
                consumer_arn=CONSUMER_ARN,
                consumer_status=self.status,
                consumer_creation_timestamp=datetime.now(UTC),
                stream_arn=STREAM_ARN,
            )
        )

    async def list_shards(self, **kwargs: Any) -> ListShardsOutput:
        return ListShardsOutput(shards=self.shards)


def source_of(
    opener: FakeOpener,
    time: FakeTime,
    *,
    kinesis: FakeKinesis | None = None,
    start: StartingPosition = StartingPosition.trim_horizon(),  # noqa: B008 - frozen
    hash_range: tuple[int, int] = WHOLE,
    rand: float = 0.5,
    config: FanOutConfig = CONFIG,
) -> SubscriptionSource:
    return SubscriptionSource(
        kinesis or FakeKinesis(ConsumerStatus.ACTIVE, [shard(SHARD)]),  # type: ignore[arg-type]
        opener,
        consumer_arn=CONSUMER_ARN,
        stream_arn=STREAM_ARN,
        shard_id=SHARD,
        start=start,
        hash_range=hash_range,
        config=config,
        runtime=Runtime(clock=time.clock, sleep=time.sleep, rand=lambda: rand),
    )


def after(sequence: int) -> dict[str, str]:
    return {"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": str(sequence)}


async def read(source: SubscriptionSource, count: int) -> list[str]:
    """The data of the next `count` records, batch by batch."""
    got: list[str] = []
    async with asyncio.timeout(10):  # a hang guard only: every wait here is on the fake clock
        while len(got) < count:
            batch = await source.next_batch()
            assert batch is not None
            got += [r.data.decode() for r in batch.records]
    return got


def error(cls: type[aiokinesis.ServiceError], status: int = 400) -> aiokinesis.ServiceError:
    return cls(cls.__name__, "injected", status=status, request_id=None)


# -- renewal ---------------------------------------------------------------------------------------


async def test_a_renewal_starts_after_the_last_continuation_and_repeats_nothing() -> None:
    time = Time()
    first = FakeStream(INITIAL, event([1, 2]), event([], 2))  # then Kinesis ends it (5 minutes up)
    second = FakeStream(INITIAL, event([3]), hang=True)
    opener = FakeOpener(time, first, second)
    source = source_of(opener, time)
    assert await read(source, 3) == ["r1", "r2", "r3"]
    assert opener.positions() == [{"Type": "TRIM_HORIZON"}, after(2)]
    assert first.closed
    assert not second.closed
    assert source.subscriptions == 2
    assert (source.retries, source.throttles) == (0, 0)
    source.close()
    assert second.closed


async def test_a_subscription_ended_before_any_event_renews_from_the_start_given() -> None:
    time = Time()
    start = StartingPosition.at_sequence_number("5")
    opener = FakeOpener(time, FakeStream(INITIAL), FakeStream(event([5, 6]), hang=True))
    source = source_of(opener, time, start=start)
    assert await read(source, 2) == ["r5", "r6"]
    assert opener.positions() == [{"Type": "AT_SEQUENCE_NUMBER", "SequenceNumber": "5"}] * 2
    source.close()


async def test_an_accepted_subscription_is_renewed_no_sooner_than_in_use_delay_after_it_began() -> None:
    # AWS refuses a second subscription within 5 s of the last: renewing sooner only earns a refusal.
    time = Time()
    opener = FakeOpener(time, FakeStream(event([1])), FakeStream(event([2]), hang=True))
    source = source_of(opener, time)
    assert await read(source, 2) == ["r1", "r2"]
    assert opener.gaps() == [CONFIG.in_use_delay]
    source.close()


# -- faults ----------------------------------------------------------------------------------------


async def test_resource_in_use_backs_off_at_least_5_seconds_with_jitter() -> None:
    time = Time()
    in_use = error(aiokinesis.ResourceInUseException)
    opener = FakeOpener(time, in_use, in_use, FakeStream(event([1]), hang=True))
    source = source_of(opener, time, rand=0.5)
    assert await read(source, 1) == ["r1"]
    assert opener.gaps() == [7.5, 7.5]  # 5 s + half of 5 s again (rand 0.5)
    assert source.throttles == 2
    source.close()


async def test_resource_in_use_as_an_event_backs_off_likewise() -> None:
    time = Time()
    opener = FakeOpener(time, FakeStream(exception_event("ResourceInUseException")), FakeStream(event([1]), hang=True))
    source = source_of(opener, time, rand=0.0)
    assert await read(source, 1) == ["r1"]
    assert opener.gaps() == [5.0]
    source.close()


async def test_no_shard_is_subscribed_more_than_once_a_second() -> None:
    time = Time()
    failure = error(aiokinesis.InternalFailureException, status=500)
    opener = FakeOpener(time, failure, failure, failure, FakeStream(event([1]), hang=True))
    source = source_of(opener, time, rand=0.01)  # backoffs of a few milliseconds: the pace decides
    assert await read(source, 1) == ["r1"]
    assert opener.gaps() == [1.0, 1.0, 1.0]
    assert source.retries == 3
    source.close()


async def test_a_silent_subscription_is_dropped_and_renewed_from_the_last_continuation() -> None:
    time = Time()
    silent = FakeStream(INITIAL, event([1, 2]), hang=True)
    opener = FakeOpener(time, silent, FakeStream(event([3]), hang=True))
    source = source_of(opener, time)
    assert await read(source, 2) == ["r1", "r2"]
    time.silent = True
    task = asyncio.ensure_future(source.next_batch())
    batch = await asyncio.wait_for(task, 10)
    assert batch is not None
    assert [r.data for r in batch.records] == [b"r3"]
    assert silent.closed
    assert opener.positions()[1] == after(2)
    assert source.retries == 1
    source.close()


async def test_a_connection_lost_mid_stream_renews_from_the_last_continuation_with_no_repeat() -> None:
    time = Time()
    lost = FakeStream(INITIAL, event([1, 2]), aiokinesis.ConnectionLostError("reset mid-event"))
    opener = FakeOpener(time, lost, FakeStream(event([3, 4]), hang=True))
    source = source_of(opener, time, rand=0.5)
    assert await read(source, 4) == ["r1", "r2", "r3", "r4"]
    assert opener.positions() == [{"Type": "TRIM_HORIZON"}, after(2)]
    assert lost.closed
    assert source.retries == 1
    assert opener.gaps() == [CONFIG.in_use_delay]  # the backoff (0.05 s) is shorter than AWS's 5 s rule
    source.close()


@pytest.mark.parametrize(
    ("code", "counter"),
    [("InternalFailureException", "retries"), ("KMSThrottlingException", "throttles")],
)
async def test_a_retryable_exception_event_renews_from_the_last_continuation(code: str, counter: str) -> None:
    time = Time()
    failing = FakeStream(event([1]), exception_event(code))
    opener = FakeOpener(time, failing, FakeStream(event([2]), hang=True))
    source = source_of(opener, time)
    assert await read(source, 2) == ["r1", "r2"]
    assert opener.positions()[1] == after(1)
    assert getattr(source, counter) == 1
    assert failing.closed
    source.close()


async def test_an_exception_event_retrying_cannot_mend_is_raised_as_its_modeled_error() -> None:
    time = Time()
    failing = FakeStream(event([1]), exception_event("KMSAccessDeniedException", "no key for you"))
    source = source_of(FakeOpener(time, failing), time)
    assert await read(source, 1) == ["r1"]
    with pytest.raises(aiokinesis.KMSAccessDeniedException, match="no key for you"):
        await source.next_batch()
    assert failing.closed


async def test_an_error_refusing_the_subscription_that_retrying_cannot_mend_is_raised() -> None:
    time = Time()
    source = source_of(FakeOpener(time, error(aiokinesis.AccessDeniedException)), time)
    with pytest.raises(aiokinesis.AccessDeniedException):
        await source.next_batch()


async def test_resource_not_found_for_a_deleted_consumer_is_a_consumer_deleted_error() -> None:
    time = Time()
    kinesis = FakeKinesis(None, [shard(SHARD)])
    source = source_of(FakeOpener(time, error(aiokinesis.ResourceNotFoundException)), time, kinesis=kinesis)
    with pytest.raises(aiokinesis.ConsumerDeletedError, match="consumer/app:1 is gone") as caught:
        await source.next_batch()
    assert isinstance(caught.value.__cause__, aiokinesis.ResourceNotFoundException)


async def test_resource_not_found_for_a_consumer_being_deleted_is_a_consumer_deleted_error() -> None:
    time = Time()
    kinesis = FakeKinesis(ConsumerStatus.DELETING, [shard(SHARD)])
    failing = FakeStream(event([1]), exception_event("ResourceNotFoundException"))
    source = source_of(FakeOpener(time, failing), time, kinesis=kinesis)
    assert await read(source, 1) == ["r1"]
    with pytest.raises(aiokinesis.ConsumerDeletedError, match="being deregistered"):
        await source.next_batch()


async def test_resource_not_found_for_a_closed_shard_is_its_end_with_its_children() -> None:
    time = Time()
    children = [
        shard("shardId-000000000008", parents=(SHARD, None)),
        shard("shardId-000000000009", parents=(SHARD, None)),
    ]
    kinesis = FakeKinesis(ConsumerStatus.ACTIVE, [shard(SHARD, closed=True), *children, shard("shardId-000000000001")])
    source = source_of(FakeOpener(time, error(aiokinesis.ResourceNotFoundException)), time, kinesis=kinesis)
    assert await source.next_batch() is None
    assert source.ended
    assert source.child_shards is not None
    assert [c.shard_id for c in source.child_shards] == ["shardId-000000000008", "shardId-000000000009"]
    assert [c.parent_shards for c in source.child_shards] == [[SHARD], [SHARD]]


async def test_resource_not_found_while_consumer_and_open_shard_exist_is_retried() -> None:
    time = Time()
    opener = FakeOpener(time, error(aiokinesis.ResourceNotFoundException), FakeStream(event([1]), hang=True))
    source = source_of(opener, time)
    assert await read(source, 1) == ["r1"]
    assert source.retries == 1
    source.close()


async def test_a_null_continuation_ends_the_shard() -> None:
    time = Time()
    closing = FakeStream(event([1]), event([], None), hang=True)
    source = source_of(FakeOpener(time, closing), time)
    assert await read(source, 1) == ["r1"]
    assert await source.next_batch() is None
    assert source.child_shards == []
    assert closing.closed


async def test_child_shards_end_the_shard_after_its_last_records() -> None:
    time = Time()
    child = {
        "ShardId": "shardId-000000000008",
        "ParentShards": [SHARD],
        "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "5"},
    }
    closing = FakeStream(event([1, 2], children=[child]), hang=True)
    source = source_of(FakeOpener(time, closing), time)
    assert await read(source, 2) == ["r1", "r2"]
    assert await source.next_batch() is None
    assert source.child_shards is not None
    assert [c.shard_id for c in source.child_shards] == ["shardId-000000000008"]
    assert closing.closed


# -- the records, backpressure, closing ---------------------------------------------------------------


async def test_aggregates_are_split_and_records_outside_the_hash_range_dropped() -> None:
    time = Time()
    inside, outside = "in", "out"
    while hash_key_of(outside) < 2**127:
        outside += "x"
    while hash_key_of(inside) >= 2**127:
        inside += "x"
    blob = aggregate([UserRecord(inside, None, b"a"), UserRecord(outside, None, b"b")])
    doc = {
        "Records": [
            {"Data": base64.b64encode(blob).decode(), "PartitionKey": inside, "SequenceNumber": "40"},
        ],
        "ContinuationSequenceNumber": "40",
        "MillisBehindLatest": 1234,
    }
    source = source_of(FakeOpener(time, FakeStream(frame(doc), hang=True)), time, hash_range=(0, 2**127 - 1))
    batch = await source.next_batch()
    assert batch is not None
    assert [(r.data, r.sub_sequence_number, r.aggregated) for r in batch.records] == [(b"a", 0, True)]
    assert batch.millis_behind_latest == source.millis_behind_latest == 1234
    assert source.dropped == 1
    source.close()


async def test_a_source_not_asked_for_batches_reads_nothing_more_from_its_stream() -> None:
    time = Time()
    stream = FakeStream(INITIAL, *[event([n]) for n in range(1, 20)], hang=True)
    source = source_of(FakeOpener(time, stream), time)
    assert await read(source, 1) == ["r1"]
    reads = stream.reads
    assert reads == 2  # the initial response and one event: nothing read ahead
    for _ in range(50):
        await asyncio.sleep(0)
    assert stream.reads == reads
    assert await read(source, 1) == ["r2"]
    assert stream.reads == reads + 1
    source.close()


async def test_cancelling_a_read_closes_the_subscription() -> None:
    time = Time()
    stream = FakeStream(INITIAL, hang=True)
    source = source_of(FakeOpener(time, stream), time)
    task = asyncio.ensure_future(source.next_batch())
    for _ in range(10):
        await asyncio.sleep(0)
    assert stream.reads == 2  # waiting for an event
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stream.closed
