"""Where the consumer gets a shard's records from: the one interface, and GetRecords polling behind it.

The consumer's fan-in (slots, parents before children, checkpoints) only ever sees a RecordSource,
so a second way of reading a shard (SubscribeToShard, records pushed over an event stream) is a
second RecordSources (_fanout.FanOutSources), not a change to the consumer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from .reader import ReadBatch, ShardReader

if TYPE_CHECKING:
    from ._generated.models import ChildShard, StartingPosition
    from ._generated.operations import Operations
    from ._invoker import Invoker
    from ._runtime import Runtime
    from .config import ReaderConfig


class RecordSource(Protocol):
    """One shard's user records, batch by batch, in order; ShardReader and SubscriptionSource are two."""

    async def next_batch(self) -> ReadBatch | None:
        """The next non-empty batch, waiting as long as it takes; None once the shard has ended."""
        ...

    def close(self) -> None:
        """The consumer is done with the source (its shard ended, was taken away, or the consumer is
        closing): release what it holds open (a subscription's stream); idempotent."""
        ...

    @property
    def child_shards(self) -> Sequence[ChildShard] | None:
        """After the end: the shards that continue this one's hash range (None before the end)."""
        ...

    @property
    def millis_behind_latest(self) -> int | None:
        """How far the last batch was behind the shard's tip."""
        ...

    @property
    def throttles(self) -> int:
        """Reads the service throttled so far."""
        ...

    @property
    def retries(self) -> int:
        """Reads retried after a transient error so far."""
        ...


class RecordSources(Protocol):
    """What the consumer opens a shard's RecordSource with."""

    async def setup(self) -> None:
        """Before the first shard is opened, when the consumer opens: what every source needs
        (enhanced fan-out registers its stream consumer). An error ends the consumer's iteration."""
        ...

    async def aclose(self) -> None:
        """After every source has stopped, when the consumer closes (enhanced fan-out may deregister)."""
        ...

    def open(self, shard_id: str, start: StartingPosition, hash_range: tuple[int, int]) -> RecordSource:
        """A source for `shard_id` from `start`; `hash_range` is the shard's first and last hash key."""
        ...


class PollingSources:
    """RecordSources that read with GetRecords: one ShardReader per shard."""

    def __init__(
        self, kinesis: Operations, invoker: Invoker, stream_name: str, config: ReaderConfig, runtime: Runtime
    ) -> None:
        self._kinesis = kinesis
        self._invoker = invoker
        self._stream_name = stream_name
        self._config = config
        self._runtime = runtime

    async def setup(self) -> None:
        """Nothing to prepare: GetRecords needs only the stream's name."""

    async def aclose(self) -> None:
        """Nothing to release: readers hold no connection between calls."""

    def open(self, shard_id: str, start: StartingPosition, hash_range: tuple[int, int]) -> RecordSource:
        return ShardReader(
            self._kinesis,
            self._invoker,
            shard_id,
            start,
            stream_name=self._stream_name,
            config=self._config,
            runtime=self._runtime,
            hash_range=hash_range,
        )
