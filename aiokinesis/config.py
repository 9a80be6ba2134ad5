"""Settings of a Client, as frozen dataclasses with their defaults in the signature."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpConfig:
    """The aiohttp connection pool and its timeouts."""

    max_connections: int = 100
    """Connections kept open at most, across all hosts; requests beyond wait for one."""
    keepalive_timeout: float = 30.0
    """Seconds an idle connection stays in the pool."""
    connect_timeout: float = 5.0
    """Seconds to open a connection before ConnectError."""
    read_timeout: float = 30.0
    """Seconds to wait for each read of the answer before RequestTimeoutError."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryConfig:
    """botocore's standard retry mode: full-jitter exponential backoff under a retry quota.

    The delay before retry n (1-based) is random(0, 1) x min(base x 2^(n-1), max_delay),
    with base `throttle_base_delay` for throttling errors and `base_delay` otherwise.
    Each retry spends quota (`retry_cost`, or `throttle_retry_cost` when throttled); a
    success pays back what its retry spent, or `success_refund` if it needed none.
    """

    max_attempts: int = 3
    """Attempts per call, the first included; 1 turns retries off."""
    base_delay: float = 0.05
    throttle_base_delay: float = 1.0
    max_delay: float = 20.0
    quota: int = 500
    retry_cost: int = 14
    throttle_retry_cost: int = 5
    success_refund: int = 1

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"RetryConfig.max_attempts must be at least 1, not {self.max_attempts}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReaderConfig:
    """How a shard reader paces itself and backs off; AWS's per-shard read limits by default."""

    limit: int = 10000
    """Records asked for per GetRecords (1-10000)."""
    min_interval: float = 0.2
    """Seconds between two GetRecords on a shard: AWS allows 5 a second."""
    read_bytes_per_second: float = 2 * 1024 * 1024
    """A shard's read limit; after a big read the next waits its share (10 MiB read: 5 s)."""
    idle_interval: float = 1.0
    """Seconds to wait after an empty read that is caught up (MillisBehindLatest 0)."""
    throttle_base_delay: float = 1.0
    """First backoff after ProvisionedThroughputExceeded; doubles per throttle in a row (full jitter)."""
    error_base_delay: float = 0.1
    """First backoff after a transient error (5xx, timeout, reset); doubles likewise."""
    max_delay: float = 30.0
    """Cap of either backoff."""

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= 10000:
            raise ValueError(f"ReaderConfig.limit must be between 1 and 10000, not {self.limit}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsumerConfig:
    """How a consumer fans shards in, discovers new ones and checkpoints."""

    max_buffered_batches: int = 16
    """Batches read ahead of the user, across all shards; when full, reading pauses."""
    checkpoint_interval: float | None = None
    """Checkpoint processed batches every this many seconds, and on close; None: call batch.checkpoint()."""
    list_shards_interval: float = 60.0
    """Seconds between ListShards calls that look for new shards (children also come from ChildShards)."""
    reader: ReaderConfig = ReaderConfig()
    """Pacing and backoff of each shard's reader."""

    def __post_init__(self) -> None:
        if self.max_buffered_batches < 1:
            raise ValueError(f"ConsumerConfig.max_buffered_batches must be at least 1, not {self.max_buffered_batches}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProducerConfig:
    """How a producer batches, paces, retries and buffers."""

    linger: float = 0.05
    """Seconds a partial batch waits for more records; a full one (500 entries) goes at once."""
    aggregate: bool = False
    """Pack records bound for one shard into KPL aggregates (the KCL and our consumer unpack them)."""
    ordering: bool = True
    """Keep each partition key's records in order across retries (one record of a key in flight)."""
    max_in_flight: int = 16
    """PutRecords calls under way at once."""
    max_batch_records: int = 500
    max_batch_bytes: int = 5 * 1024 * 1024
    max_buffered_records: int = 100_000
    """Records admitted and not yet resolved; put() waits (or raises) at the limit."""
    max_buffered_bytes: int = 256 * 1024 * 1024
    when_full: Literal["wait", "raise"] = "wait"
    record_ttl: float = 30.0
    """Seconds from put() until a record that still could not be put fails its receipt."""
    rate_limit: float = 1.5
    """Share of each shard's 1000 records/s and 1 MiB/s to send at most (the KPL's default); 0: no limit."""
    retry_base_delay: float = 0.1
    retry_max_delay: float = 5.0
    aggregation_max_bytes: int = 51200
    """Largest aggregate (the KPL's default)."""

    def __post_init__(self) -> None:
        if not 1 <= self.max_batch_records <= 500:
            raise ValueError(f"ProducerConfig.max_batch_records must be 1 to 500, not {self.max_batch_records}")
        if self.max_in_flight < 1:
            raise ValueError(f"ProducerConfig.max_in_flight must be at least 1, not {self.max_in_flight}")
        if self.when_full not in ("wait", "raise"):
            raise ValueError(f"ProducerConfig.when_full must be 'wait' or 'raise', not {self.when_full!r}")
