"""A producer on virtual time whose PutRecords calls wait until the test answers them.

No server and no wall clock: the test decides when each request returns and what it says, and
moves time by hand, so every interleaving the producer can meet is reproduced exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

import aiokinesis
from aiokinesis import (
    DescribeStreamSummaryOutput,
    HashKeyRange,
    ListShardsOutput,
    SequenceNumberRange,
    Shard,
    StreamDescriptionSummary,
)
from aiokinesis._runtime import Runtime
from aiokinesis._shardmap import hash_key_of
from tests.fakes import VirtualTime

if TYPE_CHECKING:
    from aiokinesis._generated.operations import Operations
    from aiokinesis._protocol import OperationSpec

T = TypeVar("T")
TOP = 2**128 - 1


def shard(shard_id: str, start: int = 0, end: int = TOP, *, closed: bool = False) -> Shard:
    return Shard(
        shard_id=shard_id,
        hash_key_range=HashKeyRange(starting_hash_key=str(start), ending_hash_key=str(end)),
        sequence_number_range=SequenceNumberRange(
            starting_sequence_number="0", ending_sequence_number="9" if closed else None
        ),
    )


class FakeKinesis:
    """The typed operations a producer calls: DescribeStreamSummary and ListShards (from `shards`)."""

    def __init__(self, shards: list[Shard], max_record_kib: int | None = None, strategy: str | None = None) -> None:
        self.shards = shards
        self.max_record_kib = max_record_kib
        """The stream's MaxRecordSizeInKiB (None: not reported, the 1 MiB default); a test may change it."""
        self.strategy = strategy
        """The stream's RecordDistributionStrategy (None: not reported, USER_PARTITION_KEY)."""
        self.list_calls = 0
        self.describe_calls = 0

    async def describe_stream_summary(self, *, stream_name: str) -> DescribeStreamSummaryOutput:
        self.describe_calls += 1
        return DescribeStreamSummaryOutput(
            stream_description_summary=StreamDescriptionSummary(
                stream_name=stream_name,
                stream_arn=f"arn:aws:kinesis:us-east-1:123456789012:stream/{stream_name}",
                stream_status="ACTIVE",
                retention_period_hours=24,
                stream_creation_timestamp=datetime(2025, 1, 1, tzinfo=UTC),
                enhanced_monitoring=[],
                open_shard_count=len(self.shards),
                max_record_size_in_ki_b=self.max_record_kib,
                record_distribution_strategy=self.strategy,
            )
        )

    async def list_shards(self, **request: Any) -> ListShardsOutput:
        self.list_calls += 1
        only_open = request.get("shard_filter") is not None
        return ListShardsOutput(
            shards=[s for s in self.shards if not only_open or s.sequence_number_range.ending_sequence_number is None]
        )


@dataclass
class Call:
    """One PutRecords waiting for the test's answer."""

    body: dict[str, Any]
    answer: asyncio.Future[dict[str, Any]]

    @property
    def entries(self) -> list[dict[str, str]]:
        return cast("list[dict[str, str]]", self.body["Records"])

    def land(self, shard_id: str | Callable[[dict[str, str]], str] = "shardId-0") -> None:
        """Every entry lands (on `shard_id`, or the shard the function picks for the entry)."""
        records = []
        for i, entry in enumerate(self.entries):
            landed = shard_id if isinstance(shard_id, str) else shard_id(entry)
            records.append({"ShardId": landed, "SequenceNumber": f"{id(self) % 10**9}{i:04d}"})
        self.answer.set_result({"Records": records, "FailedRecordCount": 0})

    def fail_entries(self, code: str) -> None:
        records = [{"ErrorCode": code, "ErrorMessage": "no"} for _ in self.entries]
        self.answer.set_result({"Records": records, "FailedRecordCount": len(records)})

    def raise_(self, error: BaseException) -> None:
        self.answer.set_exception(error)


@dataclass
class GatedInvoker:
    """An Invoker whose calls wait for `Call.land()` / `fail_entries()` / `raise_()`."""

    calls: list[Call] = field(default_factory=list)

    async def invoke(self, spec: OperationSpec, body: dict[str, Any], parse: Callable[[dict[str, Any]], T]) -> T:
        call = Call(body, asyncio.get_running_loop().create_future())
        self.calls.append(call)
        return parse(await call.answer)

    def pending(self) -> list[Call]:
        return [c for c in self.calls if not c.answer.done()]


@dataclass
class Harness:
    producer: aiokinesis.Producer
    kinesis: FakeKinesis
    invoker: GatedInvoker
    time: VirtualTime


def make_producer(
    config: aiokinesis.ProducerConfig,
    shards: list[Shard] | None = None,
    *,
    max_record_kib: int | None = None,
    strategy: str | None = None,
) -> Harness:
    time = VirtualTime()
    kinesis = FakeKinesis(shards if shards is not None else [shard("shardId-0")], max_record_kib, strategy)
    invoker = GatedInvoker()
    runtime = Runtime(clock=time.clock, sleep=time.sleep, rand=lambda: 1.0)
    producer = aiokinesis.Producer(cast("Operations", kinesis), invoker, "s", config=config, runtime=runtime)
    return Harness(producer, kinesis, invoker, time)


async def settle(turns: int = 100) -> None:
    """Let every task that can run, run (no time passes)."""
    for _ in range(turns):
        await asyncio.sleep(0)


def hash_of(entry: dict[str, str]) -> int:
    return int(entry["ExplicitHashKey"]) if "ExplicitHashKey" in entry else hash_key_of(entry["PartitionKey"])


async def close(harness: Harness) -> None:
    """Close the producer, landing every request it sends until it has closed."""
    closing = asyncio.create_task(harness.producer.aclose())
    for _ in range(1000):
        await settle()
        for call in harness.invoker.pending():
            call.land()
        if closing.done():
            break
        harness.time.advance(0.05)
    await closing


@asynccontextmanager
async def running(harness: Harness) -> AsyncIterator[aiokinesis.Producer]:
    """The producer open for the block, and closed after it even when the block fails."""
    await harness.producer.__aenter__()
    try:
        yield harness.producer
    finally:
        await close(harness)
