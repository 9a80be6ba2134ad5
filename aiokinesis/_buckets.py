"""Token buckets on an injected clock: the per-shard rates of Kinesis, on both sides of the wire.

The producer paces itself with them; the local test server (aiokinesis.testing) enforces with them.
"""

from __future__ import annotations

from collections.abc import Callable


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

    @property
    def capacity(self) -> float:
        """The most the bucket holds: one second's worth."""
        return self._rate

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

    def owe(self, amount: float) -> None:
        """Spend amount from nothing: whatever the bucket held is forfeited, so it is in debt for
        amount / rate seconds (GetRecords beyond a second's worth: AWS bars the shard's next reads
        for that long, 5 s after 10 MiB at 2 MiB/s)."""
        self._refill()
        self._tokens = min(self._tokens, 0.0) - amount
