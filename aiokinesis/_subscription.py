"""SubscriptionSource: one shard's records pushed by SubscribeToShard, as a RecordSource of the consumer.

Kinesis ends a subscription after about 5 minutes; the source subscribes again from the last
ContinuationSequenceNumber (AFTER_SEQUENCE_NUMBER), so nothing is lost or repeated across a
renewal. A null continuation or ChildShards is the shard's end. The event stream is read only
while `next_batch` is awaited, one event at a time: a consumer that stops asking stops reading
the network (TCP, or HTTP/2's flow-control window), and nothing is buffered without bound.

Faults: ResourceInUseException (a subscription within 5 s of another) waits `in_use_delay` and
a random share of it again; no shard is subscribed more than once per `subscribe_interval`; a
subscription silent for `silence_timeout` is dropped and renewed; a lost connection or a
transient error (an InternalFailure or KMS throttling event included) renews after a full-jitter
backoff; ResourceNotFoundException is the shard's end if the shard is closed or gone, and
ConsumerDeletedError if the enhanced fan-out consumer is. Other errors are raised. All time goes
through the injected Runtime.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._generated.errors import ResourceInUseException, ResourceNotFoundException
from ._generated.models import (
    ChildShard,
    ConsumerStatus,
    HashKeyRange,
    Shard,
    StartingPosition,
    SubscribeToShardInput,
    de_ChildShard,
)
from ._shardrecords import decode_records
from .errors import THROTTLING_CODES, TRANSIENT_CODES, ConsumerDeletedError, ServiceError, TransportError
from .paginators import Paginators
from .reader import ReadBatch
from .subscriptions import Events, subscribe

if TYPE_CHECKING:
    from ._generated.operations import Operations
    from ._invoker import StreamOpener
    from ._runtime import Runtime
    from .config import FanOutConfig
    from .records import ShardRecord

log = logging.getLogger("aiokinesis.subscription")

# Exception events come with HTTP 200, so a status cannot say whether they are transient: their codes do.
_THROTTLING = THROTTLING_CODES | {"KMSThrottlingException"}
_TRANSIENT = TRANSIENT_CODES | {"InternalFailureException", "InternalFailure", "ServiceUnavailable"}


@dataclass(slots=True)
class _Event:
    """One SubscribeToShardEvent, its records decoded straight into user records."""

    records: list[ShardRecord]
    continuation: str | None
    millis_behind_latest: int | None
    child_shards: list[ChildShard] | None
    dropped: int


class SubscriptionSource:
    """Reads one shard through an enhanced fan-out consumer's subscriptions; `await source.next_batch()`.

    Owns at most one open event stream, closed at the shard's end, on an error, on cancellation,
    and by `close()`.
    """

    def __init__(
        self,
        kinesis: Operations,
        opener: StreamOpener,
        *,
        consumer_arn: str,
        stream_arn: str,
        shard_id: str,
        start: StartingPosition,
        hash_range: tuple[int, int],
        config: FanOutConfig,
        runtime: Runtime,
    ) -> None:
        self.shard_id = shard_id
        self._kinesis = kinesis
        self._opener = opener
        self._consumer_arn = consumer_arn
        self._stream_arn = stream_arn
        self._position = start
        self._hash_range = hash_range
        self._config = config
        self._runtime = runtime
        self._events: Events[_Event] | None = None
        self._next_call = float("-inf")
        self._subscribed_at = float("-inf")
        self._failures = 0
        self.ended = False
        self.child_shards: list[ChildShard] | None = None
        """Set when the shard has ended: the shards that continue its hash range."""
        self.millis_behind_latest: int | None = None
        self.throttles = 0
        """Subscriptions refused as too soon (ResourceInUse) or throttled, and throttling events."""
        self.retries = 0
        """Subscriptions renewed after a lost connection, a transient error or a silence."""
        self.subscriptions = 0
        """SubscribeToShard calls Kinesis accepted."""
        self.dropped = 0
        """User records of aggregates dropped because their hash lies outside the shard's range."""

    @property
    def position(self) -> StartingPosition:
        """Where the next subscription starts: after the last continuation, or the start given."""
        return self._position

    async def next_batch(self) -> ReadBatch | None:
        """The next non-empty batch, waiting as long as it takes; None at the shard's end.

        Cancelled, or failing, it closes its subscription first."""
        try:
            while not self.ended:
                if self._events is None:
                    await self._subscribe()
                    continue
                event = await self._next_event(self._events)
                if event is None:
                    continue
                batch = self._accept(event)
                if batch.records:
                    return batch
            return None
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the open subscription, if any; idempotent. A later next_batch subscribes again."""
        events, self._events = self._events, None
        if events is not None:
            events.close()

    # -- subscribing ---------------------------------------------------------------------------

    async def _subscribe(self) -> None:
        """Open a subscription from the current position; after a refusal, leave none open and
        set when the next attempt may go."""
        runtime = self._runtime
        delay = self._next_call - runtime.clock()
        if delay > 0:
            await runtime.sleep(delay)
        now = runtime.clock()
        self._next_call = now + self._config.subscribe_interval
        request = SubscribeToShardInput(
            consumer_arn=self._consumer_arn, shard_id=self.shard_id, starting_position=self._position
        )
        try:
            # One attempt: the session's quick retries would go beneath the one-call-a-second pacing.
            events = await subscribe(self._opener, request, self._decode, retries=False)
        except (ServiceError, TransportError) as exc:
            await self._failed(exc)
            return
        self._events = events
        self._subscribed_at = now
        self.subscriptions += 1
        log.debug("shard %s: subscribed from %s", self.shard_id, self._position.type)

    async def _next_event(self, events: Events[_Event]) -> _Event | None:
        """The next event, or None when the subscription is over (ended, silent, or failed and
        handled): the caller subscribes again."""
        runtime = self._runtime
        read = asyncio.ensure_future(anext(events))
        timer = asyncio.ensure_future(runtime.sleep(self._config.silence_timeout))
        try:
            await asyncio.wait((read, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            read.cancel()  # a no-op once it is done
        if not read.done() or read.cancelled():
            self.retries += 1
            log.warning("shard %s: no event for %g s; subscribing again", self.shard_id, self._config.silence_timeout)
            self._drop()
            return None
        try:
            return read.result()
        except StopAsyncIteration:
            log.debug("shard %s: Kinesis ended the subscription; renewing", self.shard_id)
            self._drop()
            return None
        except (ServiceError, TransportError) as exc:
            await self._failed(exc)
            return None

    def _drop(self) -> None:
        """Close the subscription; the next may start once AWS would accept it (5 s after the last)."""
        self.close()
        self._next_call = max(self._next_call, self._subscribed_at + self._config.in_use_delay)

    async def _failed(self, exc: ServiceError | TransportError) -> None:
        """Handle a refused subscription or a failed one; raise what retrying cannot mend."""
        self._drop()
        if isinstance(exc, ResourceInUseException):
            self.throttles += 1
            delay = self._config.in_use_delay * (1.0 + self._runtime.rand())
            log.info("shard %s: another subscription is active (%s); again in %.2f s", self.shard_id, exc, delay)
            self._next_call = max(self._next_call, self._runtime.clock() + delay)
            return
        if isinstance(exc, ResourceNotFoundException):
            await self._not_found(exc)
            return
        code = exc.code if isinstance(exc, ServiceError) else ""
        throttling = exc.throttling or code in _THROTTLING
        if not (exc.retryable or throttling or code in _TRANSIENT):
            raise exc
        self._back_off(exc, throttling=throttling)

    def _back_off(self, error: Exception, *, throttling: bool) -> None:
        config = self._config
        self._failures += 1
        base = config.throttle_base_delay if throttling else config.error_base_delay
        delay = self._runtime.backoff(base, self._failures, config.max_delay)
        if throttling:
            self.throttles += 1
        else:
            self.retries += 1
        log.warning("shard %s: %s; subscribing again in %.2f s", self.shard_id, error, delay)
        self._next_call = max(self._next_call, self._runtime.clock() + delay)

    async def _not_found(self, exc: ResourceNotFoundException) -> None:
        """ResourceNotFound: the consumer is gone (raise), or the shard is closed or gone (its end)."""
        arn = self._consumer_arn
        described = None
        try:
            described = (await self._kinesis.describe_stream_consumer(consumer_arn=arn)).consumer_description
            if described.consumer_status == ConsumerStatus.DELETING:
                raise ConsumerDeletedError(arn, "it is being deregistered") from exc
            listed = [s async for s in Paginators(self._kinesis).list_shards(stream_arn=self._stream_arn)]
        except ResourceNotFoundException:
            if described is None:
                raise ConsumerDeletedError(arn, "Kinesis no longer knows it (deregistered?)") from exc
            raise exc from None  # the consumer is there, the stream is not
        except (ServiceError, TransportError) as other:
            if not other.retryable:
                raise
            self._back_off(other, throttling=other.throttling)
            return
        shard = next((s for s in listed if s.shard_id == self.shard_id), None)
        if shard is not None and shard.sequence_number_range.ending_sequence_number is None:
            self._back_off(exc, throttling=False)  # both are there: taken for a passing inconsistency
            return
        log.info("shard %s: %s; the shard is %s: its end", self.shard_id, exc, "closed" if shard else "gone")
        self.ended = True
        shard_id = self.shard_id
        self.child_shards = [_child(s) for s in listed if shard_id in (s.parent_shard_id, s.adjacent_parent_shard_id)]

    # -- events --------------------------------------------------------------------------------

    def _decode(self, doc: dict[str, Any]) -> _Event:
        """An event's JSON as user records (KPL aggregates split, filtered by the shard's hash range);
        runs inside the event stream's parse guard, so a malformed event becomes a ProtocolError."""
        decoded = decode_records(doc["Records"], self.shard_id, self._hash_range)
        children = doc.get("ChildShards")
        return _Event(
            decoded.records,
            doc.get("ContinuationSequenceNumber"),
            doc.get("MillisBehindLatest"),
            None if children is None else [de_ChildShard(child) for child in children],
            decoded.dropped,
        )

    def _accept(self, event: _Event) -> ReadBatch:
        self._failures = 0
        self.millis_behind_latest = event.millis_behind_latest
        self.dropped += event.dropped
        if event.continuation is not None:
            self._position = StartingPosition.after_sequence_number(event.continuation)
        if event.continuation is None or event.child_shards:
            self.ended = True
            self.child_shards = event.child_shards or []
            self.close()
        return ReadBatch(shard_id=self.shard_id, records=event.records, millis_behind_latest=event.millis_behind_latest)


def _child(shard: Shard) -> ChildShard:
    keys = shard.hash_key_range
    return ChildShard(
        shard_id=shard.shard_id,
        parent_shards=[p for p in (shard.parent_shard_id, shard.adjacent_parent_shard_id) if p is not None],
        hash_key_range=HashKeyRange(starting_hash_key=keys.starting_hash_key, ending_hash_key=keys.ending_hash_key),
    )
