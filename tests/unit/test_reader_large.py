"""10 MiB pages through the reader on a fake clock: byte-identical, in order, and the wait AWS asks
after a large read (a shard reads 2 MiB a second: 5 s after 10 MiB), then the throttling it meets."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import aiokinesis
from aiokinesis import GetShardIteratorOutput
from aiokinesis._runtime import Runtime
from tests.fakes import FakeTime

if TYPE_CHECKING:
    from aiokinesis._generated.operations import Operations
    from aiokinesis._protocol import OperationSpec

T = TypeVar("T")
MIB = 1024 * 1024


class Iterators:
    async def get_shard_iterator(self, **request: Any) -> GetShardIteratorOutput:
        return GetShardIteratorOutput(shard_iterator="it-0")


class Pages:
    """GetRecords answers in turn: a page, or an error to raise; the time each call was made at."""

    def __init__(self, time: FakeTime, *answers: dict[str, Any] | BaseException) -> None:
        self._time = time
        self.answers = list(answers)
        self.called_at: list[float] = []

    async def invoke(self, spec: OperationSpec, body: dict[str, Any], parse: Callable[[dict[str, Any]], T]) -> T:
        self.called_at.append(self._time.now)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return parse(answer)


def page(data: bytes, sequence: str, next_iterator: str | None) -> dict[str, Any]:
    record = {"SequenceNumber": sequence, "Data": base64.b64encode(data).decode(), "PartitionKey": "k"}
    return {"Records": [record], "NextShardIterator": next_iterator, "MillisBehindLatest": 0}


async def test_ten_mib_pages_are_read_whole_in_order_paced_and_through_throttling() -> None:
    first = b"\x01" * (10 * MIB - 1)
    second = bytes(range(256)) * (10 * MIB // 256 - 1)
    throttled = aiokinesis.ProvisionedThroughputExceededException(
        "ProvisionedThroughputExceededException", "Rate exceeded", status=400, request_id=None
    )
    time = FakeTime()
    pages = Pages(time, page(first, "1", "it-1"), throttled, page(second, "2", None))
    reader = aiokinesis.ShardReader(
        cast("Operations", Iterators()),
        pages,
        "shardId-0",
        aiokinesis.StartingPosition.trim_horizon(),
        stream_name="s",
        runtime=Runtime(clock=time.clock, sleep=time.sleep, rand=lambda: 1.0),
    )
    got = [record async for record in reader]
    digests = [hashlib.sha256(r.data).digest() for r in got]
    assert digests == [hashlib.sha256(first).digest(), hashlib.sha256(second).digest()]
    assert [r.sequence_number for r in got] == ["1", "2"]
    assert reader.ended
    assert reader.throttles == 1
    # After the first 10 MiB the reader waited its share of the shard's 2 MiB/s before asking
    # again (AWS throttles the next 5 s), then backed off the throttle before the third call.
    assert pages.called_at[1] - pages.called_at[0] >= 5.0 - 1e-6
    assert pages.called_at[2] > pages.called_at[1]


async def test_the_wait_after_a_page_counts_its_partition_keys() -> None:
    # The shard counts a record as its data and key: 10 MiB of them bar the next 5 s. Pacing on the
    # data alone asked again 48 microseconds early here, and was throttled.
    key = "k" * 100
    time = FakeTime()
    first = page(b"\x01" * (10 * MIB - 100), "1", "it-1")
    first["Records"][0]["PartitionKey"] = key
    pages = Pages(time, first, page(b"end", "2", None))
    reader = aiokinesis.ShardReader(
        cast("Operations", Iterators()),
        pages,
        "shardId-0",
        aiokinesis.StartingPosition.trim_horizon(),
        stream_name="s",
        runtime=Runtime(clock=time.clock, sleep=time.sleep, rand=lambda: 1.0),
    )
    assert [r.partition_key async for r in reader] == [key, "k"]
    assert pages.called_at[1] - pages.called_at[0] == 5.0
