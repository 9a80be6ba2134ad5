"""Faults a KinesisServer injects: what, where (operation, stream, shard) and how often.

A fault fires on the next `times` matching requests (None: every one), each time with
`probability`, drawn from the server's seeded random generator so a run can be replayed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum


class FaultKind(StrEnum):
    THROTTLE = "throttle"
    """ProvisionedThroughputExceededException (data plane), LimitExceededException (control
    plane); on PutRecords, the matching entries fail with that code, as AWS reports it."""
    PARTIAL_FAILURE = "partial_failure"
    """PutRecords entries fail with `error_code` (InternalFailure by default), `share` of them."""
    INTERNAL_FAILURE = "internal_failure"
    """HTTP 500 InternalFailureException."""
    SERVICE_UNAVAILABLE = "service_unavailable"
    """HTTP 503 ServiceUnavailable."""
    LIMIT_EXCEEDED = "limit_exceeded"
    """LimitExceededException, for any operation."""
    RESET_BEFORE_RESPONSE = "reset_before_response"
    """The connection is closed after the request is read, before any answer (it was processed)."""
    RESET_MID_RESPONSE = "reset_mid_response"
    """Status and headers are sent, then the connection closes halfway through the body."""
    TRUNCATED_BODY = "truncated_body"
    """The body is cut short of its Content-Length."""
    SLOW = "slow"
    """The answer waits `delay` seconds (of real time) first: for client timeouts."""
    EXPIRED_ITERATOR = "expired_iterator"
    """Every shard iterator alive expires now; the GetRecords that triggers it sees ExpiredIteratorException."""


@dataclass(kw_only=True)
class Fault:
    """One fault rule; give it to `KinesisServer.inject`."""

    kind: FaultKind
    operation: str | None = None
    """Wire name ("PutRecords"); None matches every operation."""
    stream: str | None = None
    shard: str | None = None
    times: int | None = 1
    """Matching requests it fires on; None for every one."""
    probability: float = 1.0
    delay: float = 0.0
    share: float = 1.0
    """For PARTIAL_FAILURE and THROTTLE on PutRecords: the share of matching entries that fail."""
    error_code: str = "InternalFailure"
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0 or not 0.0 <= self.share <= 1.0:
            raise ValueError("probability and share are between 0 and 1")
        if self.times is not None and self.times < 1:
            raise ValueError("times is at least 1, or None for every matching request")

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

    def take(self, operation: str, stream: str | None, shards: set[str]) -> Fault | None:
        """The first fault matching this request that fires now; counts it as fired."""
        for fault in self._pending:
            if fault.exhausted:
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
