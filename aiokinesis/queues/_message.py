"""What a queue consumer hands out: a received message (ack, release), its errors and the counters."""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ..errors import ClientError, KinesisError, ParamValidationError

if TYPE_CHECKING:
    from .._generated.models import QueueRecord


class QueueEntryError(KinesisError):
    """The service refused one entry of a batched call (an acknowledgement, a visibility change, a
    restore) for one message; the rest of the batch is unaffected.

    `code` is the entry's ErrorCode (InvalidArgumentException for a receipt handle that expired or
    was never valid, ThrottlingException, ...), `attempts` how often it was sent: retryable codes
    are sent again with backoff up to QueueConfig.max_attempts, others are reported at once."""

    def __init__(
        self, *, action: str, code: str, message: str | None, record_id: str, queue: str, attempts: int
    ) -> None:
        detail = f"{code}: {message}" if message else code
        times = "" if attempts == 1 else f" (after {attempts} attempts)"
        super().__init__(f"{action} of record {record_id} in queue {queue} failed{times}: {detail}")
        self.action = action
        self.code = code
        self.message = message
        self.record_id = record_id
        self.queue = queue
        self.attempts = attempts


class QueueClosedError(ClientError):
    """The queue consumer is closed (or not open yet), or the message was already settled otherwise."""


@dataclass(slots=True)
class QueueStats:
    """Counters of one queue consumer, updated as things happen (read them any time)."""

    received: int = 0
    """Messages received."""
    redeliveries: int = 0
    """Received messages whose receive_count was above 1 (delivered before and not acknowledged)."""
    acked: int = 0
    """Messages acknowledged (the queue will not deliver them again)."""
    released: int = 0
    """Messages made visible again (release(), a handler that raised, or closing)."""
    extended: int = 0
    """Visibility extensions that succeeded, one per message and extension."""
    dead_lettered: int = 0
    """Messages released (or refused) at their queue's MaxReceiveCount: the queue dead-letters them."""
    failed: int = 0
    """Acknowledgements and releases the service refused (see QueueEntryError) or that could not be sent."""
    lapsed: int = 0
    """Held messages whose visibility ran out (past max_processing_time, or an extension refused):
    the queue may deliver them to another consumer."""
    dead_letters_acked: int = 0
    """Dead-letter records discarded through dead_letters()."""
    dead_letters_restored: int = 0
    """Dead-letter records restored through dead_letters()."""
    in_flight: int = 0
    """Messages received and not yet finished, now."""


class State(enum.Enum):
    HELD = "held"  # received, not handed out yet
    DELIVERED = "delivered"  # handed to the iterator's user or a run() handler
    DONE = "done"


class Settler(Protocol):
    """The consumer's side of a message: where ack() and release() go."""

    def ack(self, message: QueueMessage) -> asyncio.Future[None]: ...

    def release(self, message: QueueMessage, delay: int) -> asyncio.Future[None]: ...


def check_concurrency(concurrency: object) -> int:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= 10_000:
        raise ValueError(f"concurrency must be an int from 1 to 10000, not {concurrency!r}")
    return concurrency


def check_delay(delay: object, field: str = "delay") -> int:
    """A visibility in whole seconds, 0 to 43,200 (the model's VisibilityTimeoutSeconds), or why not."""
    if isinstance(delay, bool) or not isinstance(delay, int):
        raise ParamValidationError(field, f"must be an int of seconds, not {delay!r} ({type(delay).__name__})")
    if not 0 <= delay <= 43_200:
        raise ParamValidationError(field, f"must be between 0 and 43200 seconds, not {delay}")
    return delay


class QueueMessage:
    """One record received from a queue; `await message.ack()` once handled, or `release()` it.

    Until then the consumer keeps it invisible to other consumers (extending its visibility up to
    QueueConfig.max_processing_time). A message neither acknowledged nor released when the consumer
    closes is released then (visible again at once)."""

    __slots__ = (
        "_future",
        "_settler",
        "action",
        "approximate_arrival_timestamp",
        "data",
        "extending",
        "first_receive_timestamp",
        "partition_key",
        "receipt_handle",
        "receive_count",
        "received_at",
        "record_id",
        "retry_at",
        "state",
        "visible_until",
    )

    def __init__(self, record: QueueRecord, settler: Settler, *, received_at: float, visible_until: float) -> None:
        self.data: bytes = record.data
        """The record's data, as the stream holds it (a KPL aggregate stays whole)."""
        self.partition_key: str | None = record.partition_key
        self.record_id: str = record.record_id
        """The same on every delivery of the record, and in every queue of its stream: what an
        idempotent handler keys on."""
        self.receipt_handle: str = record.receipt_handle
        """Names this delivery: a new one each time the record is received."""
        self.receive_count: int = record.receive_count
        """Times the queue has delivered it without an acknowledgement, this delivery included."""
        self.approximate_arrival_timestamp: datetime = record.approximate_arrival_timestamp
        """When the stream took the record (UTC)."""
        self.first_receive_timestamp: datetime = record.first_receive_timestamp
        """When the queue first delivered it (UTC)."""
        self.received_at = received_at
        """When this consumer received it (the client's clock)."""
        self.visible_until = visible_until
        """When its visibility runs out, as far as this consumer knows (the client's clock)."""
        self.extending = False
        self.retry_at = 0.0
        """Not extended again before then (an extension failed as a whole)."""
        self.action: str | None = None
        """"ack" or "release" once settled."""
        self.state = State.HELD
        self._settler = settler
        self._future: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        return f"<QueueMessage {self.record_id} receive_count={self.receive_count} {self.state.value}>"

    @property
    def settled(self) -> bool:
        """Whether ack() or release() was called (or closing released it)."""
        return self.action is not None

    async def ack(self) -> None:
        """Acknowledge it (batched with others): the queue will not deliver it again.

        Returns once the service confirmed it; raises QueueEntryError if the service refused it (an
        expired receipt handle: the visibility ran out and the queue may deliver it again). The
        acknowledgement goes even if the caller is cancelled while waiting. A second ack() waits for
        the first; after release() it raises QueueClosedError."""
        await asyncio.shield(self.settle_ack())

    async def release(self, delay: int = 0) -> None:
        """Make it visible again after `delay` seconds (0 to 43,200; 0: at once), for this or another
        consumer to receive; raises as ack() does. It still counts towards MaxReceiveCount."""
        await asyncio.shield(self.settle_release(check_delay(delay)))

    def settle_ack(self) -> asyncio.Future[None]:
        """Queue the acknowledgement without waiting for it: the future resolves once it is confirmed."""
        if self._future is None:
            self.action = "ack"
            self._future = self._settler.ack(self)
        elif self.action != "ack":
            raise QueueClosedError(f"record {self.record_id} was released: it cannot be acknowledged")
        return self._future

    def settle_release(self, delay: int) -> asyncio.Future[None]:
        """Queue the release without waiting for it."""
        if self._future is not None:
            done = "acknowledged" if self.action == "ack" else "released"
            raise QueueClosedError(f"record {self.record_id} was already {done}")
        self.action = "release"
        self._future = self._settler.release(self, delay)
        return self._future
