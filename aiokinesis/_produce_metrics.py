"""The producer's figures for a metrics sink, gathered per PutRecords and told once per request.

Made only when the client has a sink: without one the sender and buffer skip every line that
would feed it. A record's put() time is its deadline less the time to live, so no record carries
anything more for this; the per-record latencies are computed once per request, in one loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ._metrics import error_code
from ._produce_model import Aggregate, Item

if TYPE_CHECKING:
    from ._metrics import MetricsSink
    from ._produce_model import ProducerStats, Unit


class ProduceReport:
    """What one producer's requests did since the last report: landed, retried, failed."""

    __slots__ = ("_by_shard", "_clock", "_failed", "_landed", "_retried", "_sink", "_stream", "_ttl")

    def __init__(self, sink: MetricsSink, stream: str, record_ttl: float, clock: Callable[[], float]) -> None:
        self._sink = sink
        self._stream = stream
        self._ttl = record_ttl
        self._clock = clock
        self._landed: list[Item] = []
        self._by_shard: dict[str, int] = {}
        self._retried: dict[str, int] = {}
        self._failed: dict[str, int] = {}

    def sent(self, units: list[Unit], stats: ProducerStats) -> None:
        """A PutRecords of these units goes out now."""
        records = size = 0
        for unit in units:
            records += 1 if isinstance(unit, Item) else len(unit.items)
            size += unit.size
        self._sink.producer_sent(
            self._stream,
            records=records,
            bytes=size,
            entries=len(units),
            buffered_records=stats.buffered_records,
            buffered_bytes=stats.buffered_bytes,
            in_flight=stats.in_flight,
        )

    def landed(self, items: list[Item]) -> None:
        """Records sent alone that landed, each with its shard_id: counted in one pass, no object
        made per record (the latencies wait for flush, which reads the clock once for them all)."""
        by_shard = self._by_shard
        for item in items:
            shard_id = item.shard_id
            if shard_id is not None:  # set on every record that landed
                by_shard[shard_id] = by_shard.get(shard_id, 0) + 1
        self._landed.extend(items)

    def landed_aggregate(self, aggregate: Aggregate, shard_id: str) -> None:
        """An aggregate that landed on the shard it was built for (its records are counted here)."""
        self._by_shard[shard_id] = self._by_shard.get(shard_id, 0) + len(aggregate.items)
        self._landed.extend(aggregate.items)

    def retried(self, code: str, records: int) -> None:
        self._retried[code] = self._retried.get(code, 0) + records

    def failed(self, error: BaseException) -> None:
        code = error_code(error)
        self._failed[code] = self._failed.get(code, 0) + 1

    def flush(self) -> None:
        """Tell the sink what happened since the last flush, if anything did."""
        landed, by_shard, retried, failed = self._landed, self._by_shard, self._retried, self._failed
        if not (landed or retried or failed):
            return
        self._landed, self._by_shard, self._retried, self._failed = [], {}, {}, {}
        put_back = self._clock() + self._ttl  # now, less each record's put() time: deadline - ttl
        latencies = [put_back - item.deadline for item in landed]
        self._sink.producer_settled(self._stream, landed=by_shard, latencies=latencies, retried=retried, failed=failed)
