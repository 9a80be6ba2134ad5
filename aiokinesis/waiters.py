"""`client.wait.<state>(...)`: poll until a stream, consumer, channel or queue reaches a state, or give up.

Each waiter is a WaiterSpec written the way botocore's waiters-2.json writes its own (operation,
delay, attempts, acceptors), so a test holds them to botocore's; where ours differ on purpose the
test says why. Delays and deadlines are settings; time comes from the client's injected clock and
sleep, so tests of waiters take no wall time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ._generated.models import ChannelDescription, ConsumerDescription, QueueDescription, StreamDescriptionSummary
from .errors import ServiceError, WaiterError

if TYPE_CHECKING:
    from ._generated.operations import Operations
    from ._runtime import Runtime

T = TypeVar("T")
State = Literal["success", "retry", "failure"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Acceptor:
    """One rule of a waiter: the first whose match an answer (or error) meets decides what happens."""

    state: State
    matcher: Literal["path", "error"]
    expected: str
    """The value at the path, or the error's code."""
    argument: str = ""
    """For a path matcher: the attribute path in the result, dotted (botocore's, in snake_case)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WaiterSpec:
    """A waiter as botocore's waiters-2.json writes one. An answer no acceptor matches is retried;
    an error none matches is raised as it is."""

    operation: str
    delay: float
    max_attempts: int
    acceptors: tuple[Acceptor, ...]

    @property
    def max_wait(self) -> float:
        """The polling budget that allows max_attempts attempts delay apart (the first is at once)."""
        return self.delay * (self.max_attempts - 1)


def _path(state: State, argument: str, expected: str) -> Acceptor:
    return Acceptor(state=state, matcher="path", argument=argument, expected=expected)


def _error(state: State, code: str) -> Acceptor:
    return Acceptor(state=state, matcher="error", expected=code)


_STREAM_STATUS = "stream_description_summary.stream_status"
_CHANNEL_STATUS = "channel_description.channel_status"
_CONSUMER_STATUS = "consumer_description.consumer_status"
_QUEUE_STATUS = "queue_description.queue_status"

STREAM_EXISTS = WaiterSpec(
    operation="DescribeStreamSummary",
    delay=10,
    max_attempts=18,
    acceptors=(_path("success", _STREAM_STATUS, "ACTIVE"), _error("retry", "ResourceNotFoundException")),
)
STREAM_NOT_EXISTS = WaiterSpec(
    operation="DescribeStreamSummary",
    delay=10,
    max_attempts=18,
    acceptors=(_error("success", "ResourceNotFoundException"),),
)
CHANNEL_ACTIVE = WaiterSpec(
    operation="DescribeChannel",
    delay=10,
    max_attempts=18,
    acceptors=(
        _path("success", _CHANNEL_STATUS, "ACTIVE"),
        _path("retry", _CHANNEL_STATUS, "CREATING"),
        _path("retry", _CHANNEL_STATUS, "UPDATING"),
        _path("failure", _CHANNEL_STATUS, "DELETING"),
        _path("failure", _CHANNEL_STATUS, "FAILED"),
    ),
)
CONSUMER_ACTIVE = WaiterSpec(
    operation="DescribeStreamConsumer",
    delay=5,
    max_attempts=37,
    acceptors=(_path("success", _CONSUMER_STATUS, "ACTIVE"), _path("failure", _CONSUMER_STATUS, "DELETING")),
)
QUEUE_ACTIVE = WaiterSpec(
    operation="DescribeQueue",
    delay=5,
    max_attempts=37,
    acceptors=(
        _path("success", _QUEUE_STATUS, "ACTIVE"),
        _path("retry", _QUEUE_STATUS, "CREATING"),
        _path("retry", _QUEUE_STATUS, "UPDATING"),
        _path("failure", _QUEUE_STATUS, "DELETING"),
    ),
)
WAITERS: dict[str, WaiterSpec] = {
    "StreamExists": STREAM_EXISTS,
    "StreamNotExists": STREAM_NOT_EXISTS,
    "ChannelActive": CHANNEL_ACTIVE,
    "ConsumerActive": CONSUMER_ACTIVE,
    "QueueActive": QUEUE_ACTIVE,
}
"""Every waiter, by botocore's name for it (ConsumerActive and QueueActive are ours: botocore has none)."""


def _value(answer: Any, argument: str) -> Any:
    for name in argument.split("."):
        answer = getattr(answer, name, None)
    return answer


class Waiters:
    """Reached as `client.wait`; the model's StreamExists, StreamNotExists and ChannelActive, and
    ConsumerActive and QueueActive."""

    def __init__(self, client: Operations, runtime: Runtime) -> None:
        self._client = client
        self._clock = runtime.clock
        self._sleep = runtime.sleep

    async def _wait(
        self, what: str, spec: WaiterSpec, call: Callable[[], Awaitable[T]], delay: float, max_wait: float
    ) -> T | None:
        """The answer that met a success acceptor (None when an error did); WaiterError on a failure
        acceptor or once max_wait seconds pass."""
        deadline = self._clock() + max_wait
        while True:
            answer: T | None = None
            try:
                answer = await call()
            except ServiceError as exc:
                state, found = next(((a.state, a.expected) for a in spec.acceptors if _meets(a, exc)), (None, ""))
                if state is None:
                    raise
            else:
                state, found = next(((a.state, a.expected) for a in spec.acceptors if _meets(a, answer)), ("retry", ""))
            if state == "success":
                return answer
            if state == "failure":
                raise WaiterError(f"gave up waiting for {what}: it is {found}")
            if self._clock() + delay > deadline:
                raise WaiterError(f"gave up waiting for {what} after {max_wait:g} s")
            await self._sleep(delay)

    async def stream_exists(
        self,
        *,
        stream_name: str | None = None,
        stream_arn: str | None = None,
        delay: float = STREAM_EXISTS.delay,
        max_wait: float = STREAM_EXISTS.max_wait,
    ) -> StreamDescriptionSummary:
        """Wait until the stream is ACTIVE and return its summary; a missing stream is waited for."""
        out = await self._wait(
            f"stream {stream_name or stream_arn} to be ACTIVE",
            STREAM_EXISTS,
            lambda: self._client.describe_stream_summary(stream_name=stream_name, stream_arn=stream_arn),
            delay,
            max_wait,
        )
        assert out is not None  # success is a path acceptor: an answer met it
        return out.stream_description_summary

    async def stream_not_exists(
        self,
        *,
        stream_name: str | None = None,
        stream_arn: str | None = None,
        delay: float = STREAM_NOT_EXISTS.delay,
        max_wait: float = STREAM_NOT_EXISTS.max_wait,
    ) -> None:
        """Wait until describing the stream answers ResourceNotFoundException."""
        await self._wait(
            f"stream {stream_name or stream_arn} to be deleted",
            STREAM_NOT_EXISTS,
            lambda: self._client.describe_stream_summary(stream_name=stream_name, stream_arn=stream_arn),
            delay,
            max_wait,
        )

    async def channel_active(
        self,
        *,
        channel_arn: str,
        delay: float = CHANNEL_ACTIVE.delay,
        max_wait: float = CHANNEL_ACTIVE.max_wait,
    ) -> ChannelDescription:
        """Wait until the channel is ACTIVE and return its description; WaiterError at once if it is
        DELETING or FAILED (its channel_status_reason says why), since it will not become ACTIVE."""
        out = await self._wait(
            f"channel {channel_arn} to be ACTIVE",
            CHANNEL_ACTIVE,
            lambda: self._client.describe_channel(channel_arn=channel_arn),
            delay,
            max_wait,
        )
        assert out is not None  # success is a path acceptor: an answer met it
        return out.channel_description

    async def consumer_active(
        self,
        *,
        consumer_arn: str | None = None,
        stream_arn: str | None = None,
        consumer_name: str | None = None,
        delay: float = CONSUMER_ACTIVE.delay,
        max_wait: float = CONSUMER_ACTIVE.max_wait,
    ) -> ConsumerDescription:
        """Wait until an enhanced fan-out consumer is ACTIVE (by ARN, or stream ARN and name);
        WaiterError at once if it is DELETING."""
        out = await self._wait(
            f"consumer {consumer_arn or consumer_name} to be ACTIVE",
            CONSUMER_ACTIVE,
            lambda: self._client.describe_stream_consumer(
                consumer_arn=consumer_arn, stream_arn=stream_arn, consumer_name=consumer_name
            ),
            delay,
            max_wait,
        )
        assert out is not None  # success is a path acceptor: an answer met it
        return out.consumer_description

    async def queue_active(
        self,
        *,
        queue_arn: str,
        delay: float = QUEUE_ACTIVE.delay,
        max_wait: float = QUEUE_ACTIVE.max_wait,
    ) -> QueueDescription:
        """Wait until a queue is ACTIVE (CreateQueue returns it CREATING, UpdateQueue makes it
        UPDATING) and return its description; WaiterError at once if it is DELETING."""
        out = await self._wait(
            f"queue {queue_arn} to be ACTIVE",
            QUEUE_ACTIVE,
            lambda: self._client.describe_queue(queue_arn=queue_arn),
            delay,
            max_wait,
        )
        assert out is not None  # success is a path acceptor: an answer met it
        return out.queue_description


def _meets(acceptor: Acceptor, answer: Any) -> bool:
    """Whether an answer (or, for an error matcher, a ServiceError) meets the acceptor."""
    if isinstance(answer, ServiceError):
        return acceptor.matcher == "error" and answer.code == acceptor.expected
    return acceptor.matcher == "path" and _value(answer, acceptor.argument) == acceptor.expected
