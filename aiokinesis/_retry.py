"""botocore standard-mode retries: which errors, how long to wait, and the retry quota.

The quota is shared by every call of a client, so a failing dependency turns into
fast failures instead of a retry storm; randomness is injected for tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from ._runtime import Runtime
from .config import RetryConfig
from .errors import ClientClosedError, ServiceError, TransportError

T = TypeVar("T")


class RetryQuota:
    """A bucket of retry tokens: retries spend, successes pay back, never above capacity."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.available = capacity

    def acquire(self, amount: int) -> bool:
        if amount > self.available:
            return False
        self.available -= amount
        return True

    def release(self, amount: int) -> None:
        self.available = min(self.capacity, self.available + amount)


class RetryPolicy:
    """Decides, after a failed attempt, whether and when to try again, and makes the attempts."""

    def __init__(self, config: RetryConfig, runtime: Runtime) -> None:
        self.config = config
        self.quota = RetryQuota(config.quota)
        self._runtime = runtime

    def backoff(self, error: ServiceError | TransportError, attempt: int) -> tuple[float, int] | None:
        """(seconds to wait, quota spent) before attempt+1, or None to give up now.

        `attempt` is the 1-based number of the attempt that just failed.
        """
        config = self.config
        if not error.retryable or attempt >= config.max_attempts:
            return None
        cost = config.throttle_retry_cost if error.throttling else config.retry_cost
        if not self.quota.acquire(cost):
            return None
        base = config.throttle_base_delay if error.throttling else config.base_delay
        return self._runtime.backoff(base, attempt, config.max_delay), cost

    def succeeded(self, spent: int) -> None:
        """Pay back the last retry's cost, or the small refund of a call that needed none."""
        self.quota.release(spent or self.config.success_refund)

    async def attempts(self, attempt_once: Callable[[], Awaitable[T]], closed: Callable[[], bool]) -> T:
        """`attempt_once`'s result, retried as the policy allows; `closed` ends the waiting between tries."""
        try:
            result = await attempt_once()
        except (ServiceError, TransportError) as exc:
            failure = exc
        else:
            self.succeeded(0)
            return result
        return await self.retried(failure, attempt_once, closed)

    async def retried(
        self,
        failure: ServiceError | TransportError,
        attempt_once: Callable[[], Awaitable[T]],
        closed: Callable[[], bool],
    ) -> T:
        """The attempts after a first one failed with `failure`, as many as the policy allows."""
        attempt = 1
        while True:
            decision = self.backoff(failure, attempt)
            if decision is None:
                if isinstance(failure, ServiceError):
                    failure.attempts = attempt
                raise failure
            delay, spent = decision
            attempt += 1
            await self._runtime.sleep(delay)
            if closed():
                raise ClientClosedError(f"the client was closed while a retry waited (after {failure})") from failure
            try:
                result = await attempt_once()
            except (ServiceError, TransportError) as exc:
                failure = exc
                continue
            self.succeeded(spent)
            return result
