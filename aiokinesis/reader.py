"""ShardReader: every record of one shard, in order, across throttling, expiry and errors.

GetShardIterator once, then GetRecords on each NextShardIterator. The reader paces itself
to the shard's limits (5 calls and 2 MiB a second), backs off its own shard alone when
throttled, replaces an expired iterator right after the last record it delivered (nothing
lost, nothing repeated), retries transient errors, and stops at the shard's end with its
ChildShards. KPL-aggregated records come out as their user records. It owns no tasks.

An aggregate lands whole on the shard of its first record's hash; after a reshard some of its
user records may belong to a sibling shard, where their producer puts them again. As the KCL
does, the reader drops the user records of an aggregate whose hash lies outside its shard's
hash range (`dropped` counts them). The range is given, or listed once at the first aggregate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from ._generated.errors import ExpiredIteratorException
from ._generated.models import ChildShard, StartingPosition, de_ChildShard
from ._generated.operations import GetRecords
from ._shardrecords import WHOLE_RANGE, Decoded, decode_records, in_range
from .config import ReaderConfig
from .errors import ClientError, ProtocolError, ServiceError, TransportError
from .paginators import Paginators
from .records import ShardRecord

if TYPE_CHECKING:
    from ._generated.operations import Operations
    from ._invoker import Invoker
    from ._runtime import Runtime

log = logging.getLogger("aiokinesis.reader")
_NOTHING = Decoded([], 0, None, 0, False)
"""What an answer with no records decodes to, without the decoder's set-up (most answers of a caught-up shard)."""


@dataclass(slots=True)
class _Page:
    """One GetRecords answer, decoded straight into user records."""

    records: list[ShardRecord]
    size: int
    last_sequence_number: str | None
    next_iterator: str | None
    millis_behind_latest: int | None
    child_shards: list[ChildShard] | None
    unfiltered: bool
    """It holds aggregates, decoded before the shard's hash range was known: filter it once known."""


@dataclass(slots=True, kw_only=True)
class ReadBatch:
    """The user records of one GetRecords, in order, and how far behind the shard's tip they are."""

    shard_id: str
    records: list[ShardRecord]
    millis_behind_latest: int | None


class ShardReader:
    """Reads one shard; `async for record in reader`, or `await reader.next_batch()`.

    After the last record of a closed shard, iteration ends and `child_shards` says which
    shards continue its hash range. Errors that retrying cannot mend (the stream is gone,
    access denied, bad arguments) are raised.
    """

    def __init__(
        self,
        kinesis: Operations,
        invoker: Invoker,
        shard_id: str,
        start: StartingPosition,
        *,
        stream_name: str | None = None,
        stream_arn: str | None = None,
        config: ReaderConfig = ReaderConfig(),  # noqa: B008 - frozen
        runtime: Runtime,
        hash_range: tuple[int, int] | None = None,
    ) -> None:
        if stream_name is None and stream_arn is None:
            raise ValueError("a ShardReader needs stream_name or stream_arn")
        self.shard_id = shard_id
        self._kinesis = kinesis
        self._invoker = invoker
        self._start = start
        self._stream_name = stream_name
        self._stream_arn = stream_arn
        self._config = config
        self._runtime = runtime
        self._clock = runtime.clock
        self._sleep = runtime.sleep
        self._iterator: str | None = None
        self._next_call = float("-inf")
        self._failures = 0
        self._pending: list[ShardRecord] = []
        self.ended = False
        self.child_shards: list[ChildShard] | None = None
        """Set when the shard has ended: the shards that continue its hash range."""
        self.last_sequence_number: str | None = None
        """The (outer) sequence number of the last record delivered."""
        self.millis_behind_latest: int | None = None
        self.throttles = 0
        self.retries = 0
        self.hash_range = hash_range
        """The shard's hash key range (inclusive), aggregates are filtered by: given, or listed at the
        first aggregate (when ListShards cannot be called, the whole range: nothing is dropped)."""
        self.dropped = 0
        """User records of aggregates dropped because their hash lies outside `hash_range`."""

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ShardRecord:
        while not self._pending:
            batch = await self.next_batch()
            if batch is None:
                raise StopAsyncIteration
            self._pending = batch.records
            self._pending.reverse()
        return self._pending.pop()

    async def next_batch(self) -> ReadBatch | None:
        """The next non-empty batch of user records, waiting as long as it takes; None at the shard's end."""
        while not self.ended:
            delay = self._next_call - self._clock()
            if delay > 0:
                await self._sleep(delay)
            try:
                if self._iterator is None:
                    self._iterator = await self._get_iterator()
                # The hot path: the invoker directly, with a request that is valid by construction
                # (an iterator Kinesis gave, a checked limit), decoded without typed Records.
                request = {"ShardIterator": self._iterator, "Limit": self._config.limit}
                page = await self._invoker.invoke(GetRecords, request, self._decode)
                if page.unfiltered:  # the first aggregate: learn the range, then read on
                    await self._learn_hash_range()
                    page.records = self._in_range(page.records)
            except ExpiredIteratorException:
                log.info("shard %s: iterator expired; resuming after %s", self.shard_id, self.last_sequence_number)
                self._iterator = None
                continue
            except (ServiceError, TransportError) as exc:
                if not exc.retryable:
                    raise
                self._back_off(exc)
                continue
            self._failures = 0
            self._accept(page)
            if page.records:  # a caught-up shard's empty answers, most of a fan-in's, make no batch
                return ReadBatch(
                    shard_id=self.shard_id, records=page.records, millis_behind_latest=page.millis_behind_latest
                )
        return None

    def close(self) -> None:
        """Nothing to release (a reader holds no connection between calls): the RecordSource's close."""

    async def _get_iterator(self) -> str:
        start = self._start
        if self.last_sequence_number is not None:
            start = StartingPosition.after_sequence_number(self.last_sequence_number)
        out = await self._kinesis.get_shard_iterator(
            stream_name=self._stream_name,
            stream_arn=self._stream_arn,
            shard_id=self.shard_id,
            shard_iterator_type=start.type,
            starting_sequence_number=start.sequence_number,
            timestamp=start.timestamp,
        )
        if out.shard_iterator is None:
            raise ProtocolError(f"GetShardIterator for {self.shard_id} answered without an iterator")
        return out.shard_iterator

    def _back_off(self, error: ServiceError | TransportError) -> None:
        """Full-jitter exponential backoff for this shard alone; the next call waits it out."""
        self._failures += 1
        base = self._config.throttle_base_delay if error.throttling else self._config.error_base_delay
        delay = self._runtime.backoff(base, self._failures, self._config.max_delay)
        if error.throttling:
            self.throttles += 1
        else:
            self.retries += 1
        log.warning("shard %s: %s; next read in %.2f s", self.shard_id, error, delay)
        self._next_call = self._clock() + delay

    def _decode(self, answer: dict[str, Any]) -> _Page:
        """A GetRecords answer as ShardRecords (KPL aggregates split, filtered by hash range); runs
        inside the session's parse guard, so a malformed answer becomes a ProtocolError."""
        wires = answer["Records"]
        if wires.__class__ is list and not wires:  # nothing to decode: a caught-up shard's every answer
            decoded = _NOTHING
        else:
            decoded = decode_records(wires, self.shard_id, self.hash_range)
            if decoded.dropped:
                self._count_dropped(decoded.dropped)
        children = answer.get("ChildShards")
        return _Page(
            decoded.records or [],  # a list of its own, never the shared empty one
            decoded.size,
            decoded.last_sequence_number,
            answer.get("NextShardIterator"),
            answer.get("MillisBehindLatest"),
            None if children is None else [de_ChildShard(child) for child in children],
            decoded.unfiltered,
        )

    def _in_range(self, records: list[ShardRecord]) -> list[ShardRecord]:
        """A page decoded before the range was known, filtered as _decode would have."""
        kept = in_range(records, self.hash_range or WHOLE_RANGE)
        if len(kept) < len(records):
            self._count_dropped(len(records) - len(kept))
        return kept

    def _count_dropped(self, count: int) -> None:
        self.dropped += count
        log.debug(
            "shard %s: dropped %d user records of aggregates whose hash keys belong to another shard",
            self.shard_id,
            count,
        )

    async def _learn_hash_range(self) -> None:
        """This shard's hash key range, from ListShards (paginated), once."""
        found: tuple[int, int] | None = None
        try:
            async for shard in Paginators(self._kinesis).list_shards(
                stream_name=self._stream_name, stream_arn=self._stream_arn
            ):
                if shard.shard_id == self.shard_id:
                    hash_range = shard.hash_key_range
                    found = (int(hash_range.starting_hash_key), int(hash_range.ending_hash_key))
        except (ServiceError, TransportError) as exc:
            if exc.retryable:
                raise  # next_batch backs off, then reads the same page again
            log.warning("shard %s: cannot list shards (%s): aggregates are not filtered", self.shard_id, exc)
        except ClientError as exc:
            log.warning("shard %s: cannot list shards (%s): aggregates are not filtered", self.shard_id, exc)
        else:
            if found is None:
                log.warning("shard %s is not listed: aggregates are not filtered by hash range", self.shard_id)
        self.hash_range = found or WHOLE_RANGE

    def _accept(self, page: _Page) -> None:
        config = self._config
        self._iterator = page.next_iterator
        self.millis_behind_latest = page.millis_behind_latest
        if page.next_iterator is None:
            self.ended = True
            self.child_shards = page.child_shards or []
        if page.last_sequence_number is not None:
            self.last_sequence_number = page.last_sequence_number
        wait = max(config.min_interval, page.size / config.read_bytes_per_second)
        if page.last_sequence_number is None and not page.millis_behind_latest:
            wait = max(wait, config.idle_interval)
        self._next_call = self._clock() + wait
