"""AWS's limits that the local server enforces: per-shard rates (with .._buckets.TokenBucket) and sizes."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Limits the server enforces; AWS's values by default. `enabled=False` turns the per-shard rates
    off (the sizes and the shard limit still hold)."""

    enabled: bool = True
    write_records_per_second: float = 1000
    write_bytes_per_second: float = 1 * MIB
    reads_per_second: float = 5
    read_bytes_per_second: float = 2 * MIB
    max_get_records_bytes: int = 10 * MIB
    """One GetRecords returns at most this much; reading it spends 5 s of read budget."""
    max_put_records_entries: int = 500
    max_put_records_request_bytes: int = 10 * MIB
    """Data and partition keys of one PutRecords (AWS's model: 10 MiB for the entire request)."""
    shard_limit: int = 500
    """Open shards an account may have in a region (AWS's default in the large regions); enforced
    by CreateStream, SplitShard and UpdateShardCount even with `enabled=False` (it is a quota,
    not a rate)."""
    iterator_ttl: float = 300.0
    """Seconds a shard iterator lives (AWS: 5 minutes)."""
    next_token_ttl: float = 300.0
    """Seconds a ListShards NextToken lives."""
    subscription_seconds: float = 300.0
    """Seconds a SubscribeToShard subscription lasts before Kinesis ends it (AWS: 5 minutes)."""
