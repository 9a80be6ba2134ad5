"""Faults a KinesisServer injects: what, where (operation, stream, shard) and how often.

A fault fires on the next `times` matching requests (None: every one), each time with
`probability`, drawn from the server's seeded random generator so a run can be replayed.

The subscription faults (GOAWAY to EXCEPTION_EVENT) match a SubscribeToShard request like any
other (operation="SubscribeToShard", stream, shard: the consumer's stream and the ShardId) and
strike its event stream (one refused, by the 5-second rule say, leaves them pending); those
that need HTTP/2 (GOAWAY, RST_STREAM) never fire on an HTTP/1.1 request: they wait, pending,
for one over HTTP/2.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum


class FaultKind(StrEnum):
    THROTTLE = "throttle"
    """ProvisionedThroughputExceededException (data plane), LimitExceededException (control
    plane, queue control operations), ThrottlingException (queue data operations: receive,
    acknowledge, visibility, restore); on PutRecords, the matching entries fail with that code,
    as AWS reports it."""
    PARTIAL_FAILURE = "partial_failure"
    """PutRecords entries fail with `error_code` (InternalFailure by default), `share` of them; on the
    queue batch operations (Acknowledge, UpdateVisibility, Restore, and their DeadLetter forms)
    `share` of the entries are listed in Failed with `error_code` (the default becomes
    InternalFailureException there, AWS's code for queue entries) and are left as they were."""
    INTERNAL_FAILURE = "internal_failure"
    """HTTP 500 InternalFailureException."""
    SERVICE_UNAVAILABLE = "service_unavailable"
    """HTTP 503 ServiceUnavailable."""
    LIMIT_EXCEEDED = "limit_exceeded"
    """LimitExceededException, for any operation."""
    RESET_BEFORE_RESPONSE = "reset_before_response"
    """The connection is closed after the request is read, before any answer (it was processed;
    HTTP/2: the whole connection is aborted)."""
    RESET_MID_RESPONSE = "reset_mid_response"
    """Status and headers are sent, then the connection closes halfway through the body (HTTP/2: aborts)."""
    TRUNCATED_BODY = "truncated_body"
    """The body is cut short of its Content-Length (HTTP/2: half the body, then RST_STREAM)."""
    SLOW = "slow"
    """The answer waits `delay` seconds (of real time) first: for client timeouts."""
    EXPIRED_ITERATOR = "expired_iterator"
    """Every shard iterator alive expires now; the GetRecords that triggers it sees ExpiredIteratorException."""
    RESOURCE_IN_USE = "resource_in_use"
    """ResourceInUseException: for SubscribeToShard, as if another subscription began under 5 s ago."""
    RESOURCE_NOT_FOUND = "resource_not_found"
    """ResourceNotFoundException: for SubscribeToShard, as for a shard gone past its retention."""
    GOAWAY = "goaway"
    """HTTP/2 only: the request is not served; the server sends GOAWAY (NO_ERROR) whose last_stream_id
    is the newest stream opened before it (0 if none), so this and every newer stream were never
    processed, then closes the connection at once: the older streams end with it, as a client
    built on the h2 library cannot read a stream past a GOAWAY anyway."""
    RST_STREAM = "rst_stream"
    """HTTP/2 only: after the initial-response and `events` events, the subscription's stream is
    reset (RST_STREAM, INTERNAL_ERROR); the connection and its other streams go on."""
    DROP_MID_EVENT = "drop_mid_event"
    """After the initial-response and `events` events, the first half of the next event's frame is
    sent, then the connection is aborted (HTTP/1.1 and HTTP/2)."""
    SILENT = "silent"
    """After the initial-response and `events` events, nothing more: no event, no end, not even at
    the subscription's 5 minutes, until the client goes away or the server closes."""
    EXCEPTION_EVENT = "exception_event"
    """After the initial-response and `events` events, an exception event (`:message-type`
    exception, `:exception-type` = `exception_type`, a JSON message), then the stream ends."""
    DUPLICATE_DELIVERY = "duplicate_delivery"
    """A ReceiveQueueRecords (or ReceiveDeadLetterQueueRecords) answer starts with a record that is
    in flight, received again while its earlier delivery is still invisible (AWS: on rare occasions
    a queue delivers a record more than once): a new receipt handle, ReceiveCount one higher, and
    the earlier handle still valid. With no record in flight the fault does not fire: it waits."""
    EXPIRED_RECEIPT_HANDLE = "expired_receipt_handle"
    """Every record in flight in the request's queue (dead letters too) becomes visible now, as if
    its visibility timeout had passed (those at MaxReceiveCount become dead letters), before the
    request is handled: acknowledging or changing their visibility by those handles then fails
    per entry with InvalidArgumentException, AWS's answer for an expired receipt handle."""


HTTP2_ONLY = frozenset({FaultKind.GOAWAY, FaultKind.RST_STREAM})
SUBSCRIPTION_FAULTS = frozenset(
    {FaultKind.RST_STREAM, FaultKind.DROP_MID_EVENT, FaultKind.SILENT, FaultKind.EXCEPTION_EVENT}
)
"""The faults that strike a subscription's event stream once it is open."""


@dataclass(kw_only=True)
class Fault:
    """One fault rule; give it to `KinesisServer.inject`."""

    kind: FaultKind
    operation: str | None = None
    """Wire name ("PutRecords"); None matches every operation."""
    stream: str | None = None
    """The stream's name the request names (or its queue's stream); None matches every one."""
    shard: str | None = None
    """A shard id the request touches (PutRecords: an entry's shard); None matches every one."""
    times: int | None = 1
    """Matching requests it fires on; None for every one."""
    probability: float = 1.0
    """The chance it fires on each matching request, drawn from the server's seed."""
    delay: float = 0.0
    """For SLOW: seconds of real time the answer waits."""
    share: float = 1.0
    """For PARTIAL_FAILURE and THROTTLE on PutRecords: the share of matching entries that fail."""
    error_code: str = "InternalFailure"
    """For PARTIAL_FAILURE: the ErrorCode of the failed PutRecords (or queue batch) entries."""
    events: int = 0
    """For RST_STREAM, DROP_MID_EVENT, SILENT and EXCEPTION_EVENT: the SubscribeToShardEvents sent first."""
    exception_type: str = "InternalFailureException"
    """For EXCEPTION_EVENT: its `:exception-type` (ResourceNotFoundException, KMSAccessDeniedException...)."""
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0 or not 0.0 <= self.share <= 1.0:
            raise ValueError("probability and share are between 0 and 1")
        if self.times is not None and self.times < 1:
            raise ValueError("times is at least 1, or None for every matching request")
        if self.events < 0:
            raise ValueError(f"Fault.events is at least 0, not {self.events}")

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times


class Faults:
    """The server's pending faults, matched in the order they were injected."""

    def __init__(self, seed: int | None) -> None:
        self.random = random.Random(seed)
        self._pending: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        self._pending.append(fault)
        return fault

    @property
    def pending(self) -> bool:
        """Whether any fault can still fire (requests skip matching work when none can)."""
        return any(not fault.exhausted for fault in self._pending)

    def clear(self) -> None:
        self._pending.clear()

    def take(self, operation: str, stream: str | None, shards: set[str], *, http2: bool) -> Fault | None:
        """The first fault matching this request that fires now; counts it as fired."""
        for fault in self._pending:
            if fault.exhausted or (not http2 and fault.kind in HTTP2_ONLY):
                continue
            if fault.operation is not None and fault.operation != operation:
                continue
            if fault.stream is not None and fault.stream != stream:
                continue
            if fault.shard is not None and fault.shard not in shards:
                continue
            if self.random.random() >= fault.probability:
                continue
            fault.fired += 1
            return fault
        return None
