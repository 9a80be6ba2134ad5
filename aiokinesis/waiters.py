"""`client.wait.<state>(...)`: poll until a stream or consumer reaches a state, or give up.

Delays and deadlines are settings; time comes from the client's injected clock and
sleep, so tests of waiters take no wall time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from ._generated.errors import ResourceNotFoundException
from ._generated.models import ConsumerDescription, ConsumerStatus, StreamDescriptionSummary, StreamStatus
from .errors import WaiterError

if TYPE_CHECKING:
    from ._generated.operations import Operations
    from ._runtime import Runtime

T = TypeVar("T")


class Waiters:
    """Reached as `client.wait`; the model's StreamExists/StreamNotExists and ConsumerActive."""

    def __init__(self, client: Operations, runtime: Runtime) -> None:
        self._client = client
        self._clock = runtime.clock
        self._sleep = runtime.sleep

    async def _poll(self, what: str, check: Callable[[], Awaitable[T | None]], delay: float, max_wait: float) -> T:
        deadline = self._clock() + max_wait
        while True:
            found = await check()
            if found is not None:
                return found
            if self._clock() + delay > deadline:
                raise WaiterError(f"gave up waiting for {what} after {max_wait:g} s")
            await self._sleep(delay)

    async def stream_exists(
        self,
        *,
        stream_name: str | None = None,
        stream_arn: str | None = None,
        delay: float = 10.0,
        max_wait: float = 180.0,
    ) -> StreamDescriptionSummary:
        """Wait until the stream is ACTIVE and return its summary; a missing stream is waited for."""

        async def check() -> StreamDescriptionSummary | None:
            try:
                out = await self._client.describe_stream_summary(stream_name=stream_name, stream_arn=stream_arn)
            except ResourceNotFoundException:
                return None
            summary = out.stream_description_summary
            return summary if summary.stream_status == StreamStatus.ACTIVE else None

        return await self._poll(f"stream {stream_name or stream_arn} to be ACTIVE", check, delay, max_wait)

    async def stream_not_exists(
        self,
        *,
        stream_name: str | None = None,
        stream_arn: str | None = None,
        delay: float = 10.0,
        max_wait: float = 180.0,
    ) -> None:
        """Wait until describing the stream answers ResourceNotFoundException."""

        async def check() -> bool | None:
            try:
                await self._client.describe_stream_summary(stream_name=stream_name, stream_arn=stream_arn)
            except ResourceNotFoundException:
                return True
            return None

        await self._poll(f"stream {stream_name or stream_arn} to be deleted", check, delay, max_wait)

    async def consumer_active(
        self,
        *,
        consumer_arn: str | None = None,
        stream_arn: str | None = None,
        consumer_name: str | None = None,
        delay: float = 5.0,
        max_wait: float = 180.0,
    ) -> ConsumerDescription:
        """Wait until an enhanced fan-out consumer is ACTIVE (by ARN, or stream ARN and name)."""

        async def check() -> ConsumerDescription | None:
            out = await self._client.describe_stream_consumer(
                consumer_arn=consumer_arn, stream_arn=stream_arn, consumer_name=consumer_name
            )
            description = out.consumer_description
            return description if description.consumer_status == ConsumerStatus.ACTIVE else None

        return await self._poll(f"consumer {consumer_arn or consumer_name} to be ACTIVE", check, delay, max_wait)
