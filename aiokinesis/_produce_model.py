"""What the producer's parts pass between them: a receipt's result, its errors, the counters,
and the buffered record (its receipt), lane and aggregate. The public names are re-exported by aiokinesis.producer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

from ._produce_receipt import PENDING, Receipt
from .errors import ClientError, KinesisError

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class PutResult:
    """Where a record landed."""

    shard_id: str
    """The shard it landed on."""
    sequence_number: str
    """Its sequence number (an aggregate's, shared by the records inside it)."""
    sub_sequence_number: int | None
    """Its place inside a KPL aggregate; None for a record put on its own."""
    attempts: int
    """PutRecords calls it took, the one that put it included."""


class RecordFailedError(KinesisError):
    """A record was not put: a non-retryable error code, or its time to live ran out.

    `code` is the entry's error code, or "Expired" when the time to live ran out; then
    `attempts` says how often it was sent (0: never, it waited for its shard's rate or a slot)
    and `last_code` what the last attempt was refused with (None if never sent).
    """

    def __init__(self, message: str, *, code: str, attempts: int, last_code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.attempts = attempts
        self.last_code = last_code

    @property
    def expired(self) -> bool:
        """Whether the record's time to live ran out (rather than an error code failing it)."""
        return self.code == "Expired"


def expired_error(item: Item) -> RecordFailedError:
    """What a record whose time to live ran out fails with: never sent, or sent and refused each time."""
    if not item.attempts:
        message = "Expired: the record's time to live ran out before it was ever sent"
    else:
        times = "once" if item.attempts == 1 else f"{item.attempts} times"
        throttled = f", throttled {item.throttles} of them" if item.throttles else ""
        message = (
            f"Expired: sent {times}{throttled}, the last refused with {item.last_code}, "
            "until the record's time to live ran out"
        )
    return RecordFailedError(message, code="Expired", attempts=item.attempts, last_code=item.last_code)


class ProducerClosedError(ClientError):
    """The producer is closed: put() after close, or a record still unsent when close was cancelled."""


class BufferFullError(ClientError):
    """put() with `when_full="raise"` and the buffer at its limit."""


@dataclass(slots=True)
class ProducerStats:
    """Counters since the producer opened, and what is buffered and in flight now."""

    records_put: int = 0
    """Records whose receipt resolved to a PutResult."""
    bytes_put: int = 0
    """Their bytes, data and partition keys."""
    requests: int = 0
    """PutRecords calls answered."""
    retries: int = 0
    """Entries sent again after a retryable error code (an aggregate counts once), and re-puts of
    an aggregate's records that landed on a shard their keys no longer belong to."""
    throttles: int = 0
    """Entries refused with ProvisionedThroughputExceededException."""
    failed: int = 0
    """Records whose receipt failed (RecordFailedError, or ProducerClosedError on a cancelled close)."""
    buffered_records: int = 0
    """Records admitted and not yet resolved, now."""
    buffered_bytes: int = 0
    """Their bytes, now."""
    in_flight: int = 0
    """PutRecords calls under way, now."""


class Item(Receipt):
    """One admitted record, from put() until its receipt resolves: the receipt itself (one object a
    record). Its data is let go once it resolves; its PutResult is made when someone reads it."""

    __slots__ = (
        "attempts",
        "data",
        "deadline",
        "explicit_hash_key",
        "hash_key",
        "held",
        "lane",
        "last_code",
        "next",
        "not_before",
        "partition_key",
        "sequence_number",
        "shard_id",
        "size",
        "throttles",
    )

    data: bytes
    partition_key: str | None
    """None: a keyless record (an AUTO stream), spread over shards, in no order."""
    explicit_hash_key: str | None
    hash_key: int
    """-1 when not computed (no pacing, no aggregation) or not routed by the producer (keyless, AUTO)."""
    size: int
    deadline: float
    attempts: int
    not_before: float
    last_code: str | None
    """The error code the last attempt was refused with, for the receipt if the record expires."""
    throttles: int
    held: bool
    """Counted in the buffer: True from admission until its one release."""
    lane: Lane
    next: Item | None
    """The record after it in its lane."""
    shard_id: str | None
    """The shard predicted when it was taken (None: not predicted, or spread), then where it landed."""
    sequence_number: str

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        data: bytes,
        partition_key: str | None,
        explicit_hash_key: str | None,
        hash_key: int,
        size: int,
        deadline: float,
    ) -> None:
        self._loop = loop
        self._value = PENDING
        self._callbacks = None
        self._asyncio_future_blocking = False
        self.data = data
        self.partition_key = partition_key
        self.explicit_hash_key = explicit_hash_key
        self.hash_key = hash_key
        self.size = size
        self.deadline = deadline
        self.attempts = 0
        self.not_before = 0.0
        self.last_code = None
        self.throttles = 0
        self.held = True
        self.next = None

    @classmethod
    def refused(cls, loop: asyncio.AbstractEventLoop, error: BaseException) -> Item:
        """The receipt of a record refused before it was admitted: already failed with why."""
        item = cls(loop, b"", None, None, -1, 0, 0.0)
        item.held = False
        item.resolve(error)
        return item

    @property
    def items(self) -> list[Item]:
        """As a unit of its own (a record sent alone): its one record."""
        return [self]

    def settle_landed(self) -> None:
        """Resolve with where it landed, shard_id and sequence_number (its PutResult made on first read)."""
        if self._value is PENDING:
            self.data = b""
            if self._callbacks is None:  # nobody waits (the common case): nothing to schedule
                self._value = None
            else:
                self._settle(None)

    def resolve(self, value: PutResult | BaseException) -> None:
        if self._value is PENDING:
            self.data = b""
            self._settle(value)

    def _made(self) -> PutResult:
        return PutResult(self.shard_id or "", self.sequence_number, None, self.attempts)


class Lane:
    """Records that must land in order: one partition key, or with aggregation one predicted shard;
    or (key None) the keyless records, in no order, any number of them in flight. The records are
    linked through Item.next (a deque costs 600 bytes a lane, and most lanes hold few records)."""

    __slots__ = ("busy", "count", "head", "key", "ordered", "queued", "tail")

    def __init__(self, key: str | None, *, ordered: bool) -> None:
        self.key = key
        self.ordered = ordered
        self.busy = False
        """A unit of this (ordered) lane is in flight: nothing more of it goes until it is over."""
        self.queued = False
        """In the buffer's ready queue."""
        self.head: Item | None = None
        self.tail: Item | None = None
        self.count = 0

    def append(self, item: Item) -> None:
        item.lane = self
        tail = self.tail
        if tail is None:
            self.head = item
        else:
            tail.next = item
        self.tail = item
        self.count += 1

    def popleft(self) -> Item:
        item = self.head
        assert item is not None
        self.head = item.next
        if self.head is None:
            self.tail = None
        item.next = None
        self.count -= 1
        return item

    def push_front(self, items: list[Item]) -> None:
        """Put records back at the head, in their order, ahead of everything later."""
        for item in reversed(items):
            item.lane = self
            item.next = self.head
            self.head = item
            if self.tail is None:
                self.tail = item
            self.count += 1

    def __iter__(self) -> Iterator[Item]:
        item = self.head
        while item is not None:
            yield item
            item = item.next


class Aggregate:
    """A KPL aggregate of a lane's next records: one PutRecords entry."""

    __slots__ = ("items", "lane", "shard_id", "size")

    def __init__(self, lane: Lane, items: list[Item], size: int, shard_id: str | None) -> None:
        self.lane = lane
        self.items = items
        self.size = size
        self.shard_id = shard_id
        """The shard the map predicted when the unit was taken."""


Unit = Item | Aggregate
"""What becomes one PutRecords entry: a record alone, or an aggregate."""
