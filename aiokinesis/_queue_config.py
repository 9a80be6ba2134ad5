"""QueueConfig, a queue consumer's settings: they share no field or limit with the Kinesis client's."""

from __future__ import annotations

from dataclasses import dataclass

from ._checks import not_above as _not_above
from ._checks import number as _number
from ._checks import seconds as _seconds

_MAX_VISIBILITY = 43_200
"""VisibilityTimeoutSeconds' limit (12 hours), for a receive and for each visibility change."""


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueConfig:
    """How a queue consumer receives, holds, extends and acknowledges a queue's records."""

    concurrency: int = 16
    """Handlers `run()` runs at once (and what the cap and the receivers are sized by): 1 to 10,000."""
    max_held: int | None = None
    """Messages received and not yet finished (acknowledged or released) at most; receiving waits at
    the cap, so a slow handler slows receiving and nothing piles up. None: concurrency + 10 (each
    handler has one, and one receive's worth waits). At least 1."""
    receivers: int | None = None
    """Long polls (ReceiveQueueRecords) under way at once, each asking for up to 10 records: 1 to 100;
    None: enough to fill max_held in one round (max_held / 10, rounded up), at most 10."""
    wait_time: int = 20
    """WaitTimeSeconds of each receive (a long poll): 1 to 20."""
    visibility_timeout: int | None = None
    """Seconds a received record stays invisible to other consumers, 0 to 43,200, and what each
    extension sets again; None: the queue's own (its VisibilityTimeoutSeconds, read at open)."""
    extend_before: float = 10.0
    """Seconds before a held message's visibility runs out that it is extended (at most half its
    visibility timeout); > 0."""
    max_processing_time: float = 3600.0
    """Seconds after receiving a message that extensions stop: a handler that runs longer lets the
    message become visible again (the queue redelivers it). > 0 and at most 43,200."""
    release_delay: int = 0
    """Seconds a message whose `run()` handler raised stays invisible before it is delivered again:
    0 (at once) to 43,200."""
    ack_linger: float = 0.05
    """Seconds a partial batch of acknowledgements (or visibility changes) waits for more, >= 0; ten
    go at once, and closing sends what waits."""
    max_attempts: int = 5
    """Attempts of an entry the service failed with a retryable code (throttling, internal
    failure) before its message's `ack()` raises: 1 to 100."""
    retry_base_delay: float = 0.1
    """First backoff in seconds of a failed entry or receive, > 0 and <= retry_max_delay."""
    retry_max_delay: float = 5.0
    """Cap of that backoff in seconds."""
    close_timeout: float = 30.0
    """Seconds closing lets `run()`'s handlers in flight finish before cancelling them (their
    messages are then released); >= 0."""

    def __post_init__(self) -> None:
        _number(self, "concurrency", low=1, high=10_000, integer=True)
        if self.max_held is not None:
            _number(self, "max_held", low=1, integer=True)
        if self.receivers is not None:
            _number(self, "receivers", low=1, high=100, integer=True)
        _number(self, "wait_time", low=1, high=20, unit="seconds", integer=True)
        if self.visibility_timeout is not None:
            _number(self, "visibility_timeout", low=0, high=_MAX_VISIBILITY, unit="seconds", integer=True)
        _seconds(self, "extend_before", above=True)
        _number(self, "max_processing_time", low=0, high=_MAX_VISIBILITY, above=True, unit="seconds")
        _number(self, "release_delay", low=0, high=_MAX_VISIBILITY, unit="seconds", integer=True)
        _seconds(self, "ack_linger")
        _number(self, "max_attempts", low=1, high=100, integer=True)
        _seconds(self, "retry_base_delay", above=True)
        _seconds(self, "retry_max_delay", above=True)
        _not_above(self, "retry_base_delay", "retry_max_delay")
        _seconds(self, "close_timeout")

    @property
    def held_limit(self) -> int:
        """max_held, or its default."""
        return self.max_held if self.max_held is not None else self.concurrency + 10

    @property
    def receiver_count(self) -> int:
        """receivers, or its default."""
        return self.receivers if self.receivers is not None else min(10, -(-self.held_limit // 10))
