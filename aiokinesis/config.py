"""Settings of a Client, as frozen dataclasses with their defaults in the signature."""

from __future__ import annotations

from dataclasses import dataclass


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
