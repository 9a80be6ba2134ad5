"""AWS's per-shard throughput limits, as token buckets on an injected clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Per-shard limits the server enforces; AWS's values by default. `enabled=False` turns all off."""

    enabled: bool = True
    write_records_per_second: float = 1000
    write_bytes_per_second: float = 1 * MIB
    reads_per_second: float = 5
    read_bytes_per_second: float = 2 * MIB
    max_get_records_bytes: int = 10 * MIB
    """One GetRecords returns at most this much; reading it spends 5 s of read budget."""
    max_put_records_entries: int = 500
    max_put_records_request_bytes: int = 5 * MIB
    iterator_ttl: float = 300.0
    """Seconds a shard iterator lives (AWS: 5 minutes)."""
    next_token_ttl: float = 300.0
    """Seconds a ListShards NextToken lives."""
    subscription_seconds: float = 300.0
    """Seconds a SubscribeToShard subscription lasts before Kinesis ends it (AWS: 5 minutes)."""


class TokenBucket:
    """`rate` tokens a second, holding at most one second's worth; reads may go into debt."""

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        self._rate = rate
        self._clock = clock
        self._tokens = rate
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._rate, self._tokens + (now - self._last) * self._rate)
        self._last = now

    def available(self, amount: float) -> bool:
        self._refill()
        return self._tokens >= amount

    def take(self, amount: float) -> bool:
        """Spend amount if there is that much; otherwise spend nothing and say no."""
        self._refill()
        if self._tokens < amount:
            return False
        self._tokens -= amount
        return True

    def spend(self, amount: float) -> None:
        """Spend amount even into debt (GetRecords: the data is already read)."""
        self._refill()
        self._tokens -= amount

    def in_debt(self) -> bool:
        self._refill()
        return self._tokens < 0
