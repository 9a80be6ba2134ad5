"""What the producer's parts pass between them: a receipt's result, its errors, the counters,
and the buffered record, lane and unit. The public names are re-exported by aiokinesis.producer."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from dataclasses import dataclass

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


@dataclass(eq=False, slots=True)
class Item:
    """One admitted record, from put() until its receipt resolves."""

    data: bytes
    partition_key: str | None
    """None: a keyless record (an AUTO stream), spread over shards, in no order."""
    explicit_hash_key: str | None
    hash_key: int
    """-1 when not computed (no pacing, no aggregation) or not routed by the producer (keyless, AUTO)."""
    size: int
    future: asyncio.Future[PutResult]
    deadline: float
    attempts: int = 0
    not_before: float = 0.0
    last_code: str | None = None
    """The error code the last attempt was refused with, for the receipt if the record expires."""
    throttles: int = 0


@dataclass(eq=False, slots=True)
class Lane:
    """Records that must land in order: one partition key, or with aggregation one predicted shard;
    or (key None) the keyless records, in no order, any number of them in flight."""

    key: str | None
    items: deque[Item] = dataclasses.field(default_factory=deque)
    busy: bool = False
    ordered: bool = True


@dataclass(eq=False, slots=True)
class Unit:
    """What becomes one PutRecords entry: one record, or an aggregate of a lane's next records."""

    lane: Lane
    items: list[Item]
    entry: dict[str, str]
    """The PutRecords entry on the wire (valid by construction: put() checked its records)."""
    size: int
    shard_id: str | None
    """The shard the map predicted when the unit was taken; None when not predicted."""
    spread: bool = False
    """The shard was only picked to pace it (keyless, or an AUTO stream): it may land on any."""
