"""Settings of a Client, as frozen dataclasses with their defaults in the signature.

Every field is checked when a config is built (also by `dataclasses.replace`): a wrong type is a
TypeError, a value out of range a ValueError; both name `ClassName.field`, the value and what is
allowed. NaN is refused everywhere (it compares false, so it would slip past any limit), and so is
infinity: aiohttp cannot schedule an infinite timeout, and an infinite delay never ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._checks import MIB as _MIB
from ._checks import choice as _choice
from ._checks import flag as _flag
from ._checks import name as _name
from ._checks import not_above as _not_above
from ._checks import number as _number
from ._checks import seconds as _seconds
from ._queue_config import QueueConfig as QueueConfig  # its own module; importable from here as before

_MAX_RECORD = 10 * _MIB
"""The largest record a stream can take (MaxRecordSizeInKiB 10240), and PutRecords' request limit."""
_MIN_LOOP = 0.01
"""The shortest interval of a loop that repeats on its own (polling, re-listing, checkpointing).

Below it a loop is a spin in all but name: list_shards_interval=0 made 3,993 ListShards calls in
a second. 10 ms keeps the millisecond intervals of fast local tests legal and caps one consumer at
100 ListShards a second, a tenth of AWS's per-stream limit; in production use seconds.
"""
_LEASE_EPSILON = 0.025
"""The KCL's epsilon: renewals come this much before a third of failover_time."""
_MIN_FAILOVER = 0.3
"""The shortest failover_time: its renewals (failover_time / 3 - 25 ms) must leave room for a
table round trip, and below 0.3 s they would come every few milliseconds."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpConfig:
    """The connection pools (aiohttp's, and HTTP/2's for streamed operations), their timeouts and TLS."""

    max_connections: int = 100
    """Connections kept open at most, across all hosts; requests beyond wait for one. At least 1
    (aiohttp would read 0 as no limit at all)."""
    keepalive_timeout: float = 30.0
    """Seconds an idle connection stays in the pool; > 0."""
    connect_timeout: float = 5.0
    """Seconds to open a connection before ConnectError; > 0."""
    read_timeout: float = 30.0
    """Seconds to wait for each read of the answer before RequestTimeoutError; > 0."""
    verify: bool | str = True
    """TLS certificate verification, as botocore's `verify`: True checks against the system's trust
    store, a string is the path of a CA bundle to trust instead, False checks nothing (local servers
    with self-signed certificates only)."""
    http2: bool = True
    """Carry streamed operations (SubscribeToShard) over HTTP/2 when the optional `h2` package is
    installed (`pip install 'aiokinesis-sdk[http2]'`): many subscriptions share one connection. Without h2,
    with False, with an aiohttp session given to the Client (its settings govern HTTP/1.1 only), or
    against a server that does not speak HTTP/2, each subscription holds an HTTP/1.1 connection."""
    max_streams_per_connection: int = 100
    """Streams multiplexed on one HTTP/2 connection at most (fewer if the server's
    MAX_CONCURRENT_STREAMS says so); a new connection takes the streams beyond. 1 to 1000."""
    ping_interval: float = 30.0
    """Seconds without anything arriving on an HTTP/2 connection before it is sent a PING; > 0."""
    ping_timeout: float = 10.0
    """Seconds an HTTP/2 connection has to answer a PING before it is closed and its streams fail
    with ConnectionLostError; > 0."""

    def __post_init__(self) -> None:
        _number(self, "max_connections", low=1, integer=True)
        for field in ("keepalive_timeout", "connect_timeout", "read_timeout", "ping_interval", "ping_timeout"):
            _seconds(self, field, above=True)
        _flag(self, "http2")
        _number(self, "max_streams_per_connection", low=1, high=1000, integer=True)
        verify: object = self.verify
        if not isinstance(verify, bool | str):
            raise TypeError(
                f"HttpConfig.verify must be True, False or a CA bundle path, not {verify!r} ({type(verify).__name__})"
            )
        if verify == "":
            raise ValueError("HttpConfig.verify must be True, False or a CA bundle path, not ''")


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryConfig:
    """botocore's standard retry mode: full-jitter exponential backoff under a retry quota.

    The delay before retry n (1-based) is random(0, 1) x min(base x 2^(n-1), max_delay),
    with base `throttle_base_delay` for throttling errors and `base_delay` otherwise.
    Each retry spends quota (`retry_cost`, or `throttle_retry_cost` when throttled); a
    success pays back what its retry spent, or `success_refund` if it needed none.
    """

    max_attempts: int = 3
    """Attempts per call, the first included: 1 (no retries) to 100 (past 1024 attempts the
    backoff's 2^n overflows a float, and long before that every retry waits max_delay)."""
    base_delay: float = 0.05
    """Seconds, >= 0 and <= max_delay; 0 retries at once (the attempts and the quota still bound it)."""
    throttle_base_delay: float = 1.0
    """Seconds, >= 0 and <= max_delay."""
    max_delay: float = 20.0
    """Cap of a delay in seconds, >= 0."""
    quota: int = 500
    """Retry tokens of the client, >= 0 (0: a retry only if it costs nothing)."""
    retry_cost: int = 14
    """Tokens a retry after a transient error spends, >= 0."""
    throttle_retry_cost: int = 5
    """Tokens a retry after throttling spends, >= 0."""
    success_refund: int = 1
    """Tokens a success that needed no retry pays back, >= 0."""

    def __post_init__(self) -> None:
        _number(self, "max_attempts", low=1, high=100, integer=True)
        for field in ("base_delay", "throttle_base_delay", "max_delay"):
            _seconds(self, field)
        _not_above(self, "base_delay", "max_delay")
        _not_above(self, "throttle_base_delay", "max_delay")
        for field in ("quota", "retry_cost", "throttle_retry_cost", "success_refund"):
            _number(self, field, low=0, integer=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReaderConfig:
    """How a shard reader paces itself and backs off; AWS's per-shard read limits by default.

    A reader retries transient errors and throttling for as long as it runs, so its backoff bases
    must be above 0: a base of 0 would retry a refused connection in a tight loop.
    """

    limit: int = 10000
    """Records asked for per GetRecords: 1 to 10000 (AWS's range)."""
    min_interval: float = 0.2
    """Seconds between two GetRecords on a shard, >= 0: AWS allows 5 a second (0.2 s); 0 suits
    only a local server."""
    read_bytes_per_second: float = 2 * 1024 * 1024
    """A shard's read limit, > 0; after a big read the next waits its share (10 MiB read: 5 s)."""
    idle_interval: float = 1.0
    """Seconds to wait after an empty read that is caught up (MillisBehindLatest 0); at least
    0.01, as this wait is what keeps a caught-up reader from polling in a loop."""
    throttle_base_delay: float = 1.0
    """First backoff after ProvisionedThroughputExceeded, > 0 and <= max_delay; doubles per
    throttle in a row (full jitter)."""
    error_base_delay: float = 0.1
    """First backoff after a transient error (5xx, timeout, reset), > 0 and <= max_delay; doubles likewise."""
    max_delay: float = 30.0
    """Cap of either backoff, in seconds."""

    def __post_init__(self) -> None:
        _number(self, "limit", low=1, high=10000, integer=True)
        _seconds(self, "min_interval")
        _number(self, "read_bytes_per_second", low=0, above=True, unit="bytes per second")
        _seconds(self, "idle_interval", low=_MIN_LOOP)
        for field in ("throttle_base_delay", "error_base_delay", "max_delay"):
            _seconds(self, field, above=True)
        _not_above(self, "throttle_base_delay", "max_delay")
        _not_above(self, "error_base_delay", "max_delay")


@dataclass(frozen=True, slots=True, kw_only=True)
class FanOutConfig:
    """How an enhanced fan-out consumer (`enhanced_fan_out=`) subscribes to each shard, renews and backs off.

    Kinesis ends every subscription after 5 minutes and the consumer subscribes again from where
    the last one stopped; these set how soon, and how it waits after a refusal or a failure.
    """

    subscribe_interval: float = 1.0
    """Least seconds between two SubscribeToShard calls for one shard, >= 0: AWS allows one a
    second; less suits only a local server."""
    in_use_delay: float = 5.0
    """Seconds, >= 0: after ResourceInUseException (another subscription to the shard within 5 s)
    the next call waits this plus a random share of it again; and a subscription Kinesis accepted is
    renewed at the soonest this long after it began, since AWS refuses a second one within 5 s.
    Less than 5 suits only a local server."""
    silence_timeout: float = 35.0
    """Seconds without any event (Kinesis sends them while a shard is idle too) after which a
    subscription is dropped and renewed from where it stopped, > 0."""
    error_base_delay: float = 0.1
    """First backoff before subscribing again after a transient error (a lost connection, a 5xx,
    an InternalFailure event), > 0 and <= max_delay; doubles per failure in a row (full jitter)."""
    throttle_base_delay: float = 1.0
    """First backoff after a throttling error (LimitExceeded, KMSThrottling), > 0 and <= max_delay; doubles likewise."""
    max_delay: float = 30.0
    """Cap of either backoff, in seconds."""
    active_poll_interval: float = 1.0
    """Seconds between looks at the status of a consumer being registered, at least 0.01."""
    active_timeout: float = 180.0
    """Seconds to wait for the consumer to become ACTIVE when the stream consumer opens, > 0."""

    def __post_init__(self) -> None:
        _seconds(self, "subscribe_interval")
        _seconds(self, "in_use_delay")
        _seconds(self, "silence_timeout", above=True)
        for field in ("error_base_delay", "throttle_base_delay", "max_delay"):
            _seconds(self, field, above=True)
        _not_above(self, "error_base_delay", "max_delay")
        _not_above(self, "throttle_base_delay", "max_delay")
        _seconds(self, "active_poll_interval", low=_MIN_LOOP)
        _seconds(self, "active_timeout", above=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsumerConfig:
    """How a consumer fans shards in, discovers new ones and checkpoints."""

    max_buffered_batches: int = 16
    """Batches read ahead of the user, across all shards, at least 1; when full, reading pauses."""
    checkpoint_interval: float | None = None
    """Checkpoint processed batches every this many seconds (at least 0.01), and on close;
    None: call batch.checkpoint()."""
    list_shards_interval: float = 60.0
    """Seconds between ListShards calls that look for new shards (children also come from
    ChildShards); at least 0.01, and seconds rather than milliseconds against AWS."""
    reader: ReaderConfig = ReaderConfig()
    """Pacing and backoff of each shard's reader."""
    fan_out: FanOutConfig = FanOutConfig()
    """With `enhanced_fan_out=`: how each shard's subscription renews and backs off (instead of `reader`)."""
    failover_time: float = 10.0
    """With leases: seconds a lease may go unrenewed before other workers take it (the KCL's
    failoverTime), at least 0.3. Its holder renews it every failover_time / 3 - 25 ms and stops
    reading a shard it could not renew for this long; the others look at the table every
    (failover_time + 25 ms) / 2, taking free or expired leases, and every fourth look is a
    balance round (every 2 x (failover_time + 25 ms), the KCL's), which may steal."""
    max_leases_to_steal: int = 1
    """With leases: leases a balance round takes from the most loaded worker at most, >= 0 (0: never steal)."""
    max_leases: int | None = None
    """With leases: the most leases this worker holds at once, at least 1; None: its share, whatever it is."""

    def __post_init__(self) -> None:
        _number(self, "max_buffered_batches", low=1, integer=True)
        if self.checkpoint_interval is not None:
            _seconds(self, "checkpoint_interval", low=_MIN_LOOP)
        _seconds(self, "list_shards_interval", low=_MIN_LOOP)
        if not isinstance(self.reader, ReaderConfig):
            raise TypeError(
                f"{_name(self, 'reader')} must be a ReaderConfig, not {self.reader!r} ({type(self.reader).__name__})"
            )
        if not isinstance(self.fan_out, FanOutConfig):
            raise TypeError(
                f"{_name(self, 'fan_out')} must be a FanOutConfig, not {self.fan_out!r} ({type(self.fan_out).__name__})"
            )
        _seconds(self, "failover_time", low=_MIN_FAILOVER)
        _number(self, "max_leases_to_steal", low=0, integer=True)
        if self.max_leases is not None:
            _number(self, "max_leases", low=1, integer=True)

    @property
    def lease_renew_interval(self) -> float:
        """Seconds between renewals of a held lease: failover_time / 3 - 25 ms (the KCL's)."""
        return self.failover_time / 3 - _LEASE_EPSILON

    @property
    def lease_scan_interval(self) -> float:
        """Seconds between looks at the lease table: a quarter of the balance interval (5.01 s by
        default), so a dead worker's leases are taken about 1.5 x failover_time after its last renewal."""
        return (self.failover_time + _LEASE_EPSILON) / 2

    @property
    def lease_balance_interval(self) -> float:
        """Seconds between balance rounds (the ones that may steal): 2 x (failover_time + 25 ms), the KCL's."""
        return 2 * (self.failover_time + _LEASE_EPSILON)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProducerConfig:
    """How a producer batches, paces, retries and buffers.

    Sizes count a record as its data plus its partition key, as AWS does.
    """

    linger: float = 0.05
    """Seconds a partial batch waits for more records, >= 0 and below record_ttl (a record that
    lingers its whole time to live would expire unsent); a full one (500 entries) goes at once."""
    aggregate: bool = False
    """Pack records bound for one shard into KPL aggregates (the KCL and our consumer unpack them)."""
    ordering: bool = True
    """Keep each partition key's records in order across retries (one record of a key in flight)."""
    max_in_flight: int = 16
    """PutRecords calls under way at once, at least 1."""
    max_batch_records: int = 500
    """Entries per PutRecords: 1 to 500 (AWS's limit)."""
    max_batch_bytes: int | None = None
    """Bytes per PutRecords, data and partition keys: None (the default) fills each request up to
    what the stream allows, 10 MiB on a large-record stream (MaxRecordSizeInKiB above 1024) and
    5 MiB on others (AWS's request limit before large records); or 1 MiB (so any record of a
    stream with the default record size fits) to 10 MiB. A record larger than this (on a
    large-record stream, up to 10 MiB) goes alone in its own PutRecords."""
    max_buffered_records: int = 100_000
    """Records admitted and not yet resolved, at least 1; put() waits (or raises) at the limit."""
    max_buffered_bytes: int = 256 * 1024 * 1024
    """Bytes admitted and not yet resolved, at least 1; put() refuses at once a record larger than
    the whole buffer (it could never be admitted)."""
    when_full: Literal["wait", "raise"] = "wait"
    """What put() does at a buffer limit: wait for space, or raise BufferFullError."""
    record_ttl: float = 30.0
    """Seconds from put() until a record that still could not be put fails its receipt; > 0."""
    rate_limit: float = 1.5
    """Share of each shard's 1000 records/s and 1 MiB/s to send at most (the KPL's default):
    0.01 to 10 (the KPL's floor, 1%; 10 times a shard's rate is no pacing at all), or 0: no limit.
    A record larger than a shard's byte budget (1 MiB x rate_limit) goes once that budget is full,
    and the shard then waits out the debt; the first record a shard's rate holds back goes next on
    that shard, so small records cannot starve a large one, and wait at most its debt behind it."""
    retry_base_delay: float = 0.1
    """First backoff of a failed record, in seconds, > 0 and <= retry_max_delay: records are
    retried until their time to live, and a base of 0 would resend them in a tight loop."""
    retry_max_delay: float = 5.0
    """Cap of a record's backoff, in seconds."""
    aggregation_max_bytes: int = 51200
    """Largest aggregate (the KPL's default): 1 byte to 10 MiB and at most max_batch_bytes (if set); at open
    the producer caps it at the stream's max record size (1 MiB unless raised), so a larger value
    only counts on a large-record stream."""

    def __post_init__(self) -> None:
        _seconds(self, "linger")
        _flag(self, "aggregate")
        _flag(self, "ordering")
        _number(self, "max_in_flight", low=1, integer=True)
        _number(self, "max_batch_records", low=1, high=500, integer=True)
        if self.max_batch_bytes is not None:
            _number(self, "max_batch_bytes", low=_MIB, high=_MAX_RECORD, unit="bytes", integer=True)
        _number(self, "max_buffered_records", low=1, integer=True)
        _number(self, "max_buffered_bytes", low=1, unit="bytes", integer=True)
        _choice(self, "when_full", ("wait", "raise"))
        _seconds(self, "record_ttl", above=True)
        _not_above(self, "linger", "record_ttl", strictly=True)
        _number(self, "rate_limit", low=0.01, high=10, zero=True)
        _seconds(self, "retry_base_delay", above=True)
        _seconds(self, "retry_max_delay", above=True)
        _not_above(self, "retry_base_delay", "retry_max_delay")
        _number(self, "aggregation_max_bytes", low=1, high=_MAX_RECORD, unit="bytes", integer=True)
        if self.max_batch_bytes is not None:
            _not_above(self, "aggregation_max_bytes", "max_batch_bytes")
