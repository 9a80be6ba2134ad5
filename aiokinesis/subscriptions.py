"""SubscribeToShard: the event stream of one enhanced fan-out subscription.

Kinesis pushes SubscribeToShardEvents for up to 5 minutes; then the stream ends and
the caller subscribes again from the last ContinuationSequenceNumber. `subscribe_to_shard`
sends the request through any StreamOpener (the client's session); `subscribe` is the same with
the caller's own parser of each event's JSON, for readers that decode records straight from it.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import orjson

from ._diagnose import response_misfit
from ._eventstream import Decoder, Message
from ._generated.models import (
    SubscribeToShardEvent,
    SubscribeToShardInput,
    de_SubscribeToShardEvent,
    ser_SubscribeToShardInput,
)
from ._generated.operations import SubscribeToShard
from ._invoker import BodyStream, StreamOpener
from .errors import ProtocolError, service_error

T = TypeVar("T")


class Events(Generic[T]):
    """Async iterator of a subscription's events, each parsed by `parse` from its JSON; use
    `async with` so the connection is closed. EventStream is the one with typed events.

    Iteration ends when Kinesis ends the subscription; an exception event raises its
    modeled error class. The initial-response event, and event types added to the model
    after this release, are skipped. Once the client is closed, the events already received
    are delivered, then ClientClosedError is raised (and the stream is closed).

    Whatever ends the stream, the events before it are delivered first, then the error is
    raised, once; after it iteration ends: no event ever follows an error.
    """

    def __init__(self, stream: BodyStream, parse: Callable[[dict[str, Any]], T]) -> None:
        self._stream = stream
        self._parse = parse
        self._decoder = Decoder()
        self._ready: deque[Message] = deque()
        self._corrupt: ProtocolError | None = None
        """A bad frame found after the messages in _ready: raised once they are delivered."""

    @property
    def request_id(self) -> str | None:
        return self._stream.request_id

    def __aiter__(self) -> Self:
        return self

    @property
    def closed(self) -> bool:
        return self._stream.closed

    async def __anext__(self) -> T:
        while True:
            while self._ready:
                try:
                    event = self._event(self._ready.popleft())
                except BaseException:  # the stream is over: what follows the error is never delivered
                    self._ready.clear()
                    self._corrupt = None
                    raise
                if event is not None:
                    return event
            if self._corrupt is not None:
                error, self._corrupt = self._corrupt, None
                raise error
            if self._stream.closed:
                raise StopAsyncIteration
            chunk = await self._stream.read_chunk()
            if not chunk:
                self.close()
                if self._decoder.pending:
                    raise ProtocolError(
                        f"SubscribeToShard: the stream ended inside a frame ({self._decoder.pending} bytes)"
                    )
                raise StopAsyncIteration
            try:
                for message in self._decoder.feed(chunk):
                    self._ready.append(message)
            except ProtocolError as exc:  # the good frames before the bad one go first
                self.close()
                self._corrupt = exc

    def _event(self, message: Message) -> T | None:
        headers = message.headers
        kind = headers.get(":message-type")
        if kind == "event":
            if headers.get(":event-type") != "SubscribeToShardEvent":
                return None
            try:
                doc = orjson.loads(message.payload)
            except orjson.JSONDecodeError as exc:
                self.close()
                raise ProtocolError(f"SubscribeToShard: an event is not JSON: {message.payload[:100]!r}") from exc
            try:
                return self._parse(doc)
            except MemoryError:
                raise
            except Exception as exc:  # any failure to parse is the event's fault
                self.close()
                raise response_misfit("SubscribeToShard", doc, exc, shape="SubscribeToShardEvent") from exc
        self.close()
        if kind == "exception":
            code = str(headers.get(":exception-type", ""))
            try:
                body = orjson.loads(message.payload) if message.payload else {}
            except orjson.JSONDecodeError:
                body = {}
            text = str(body.get("message") or body.get("Message") or "") if isinstance(body, dict) else ""
        elif kind == "error":
            code = str(headers.get(":error-code", ""))
            text = str(headers.get(":error-message", ""))
        else:
            raise ProtocolError(f"SubscribeToShard: unknown event stream message type {kind!r}")
        raise service_error(code or "UnknownError", text, status=200, request_id=self.request_id)

    def close(self) -> None:
        """End the subscription now; idempotent."""
        self._stream.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        stream = getattr(self, "_stream", None)
        if stream is not None and not stream.closed:
            warnings.warn("unclosed EventStream: use 'async with' or close()", ResourceWarning, stacklevel=1)
            stream.close()


class EventStream(Events[SubscribeToShardEvent]):
    """Async iterator of a subscription's typed SubscribeToShardEvents; use `async with` so the
    connection is closed. See Events for how it ends."""

    def __init__(self, stream: BodyStream) -> None:
        super().__init__(stream, de_SubscribeToShardEvent)


@dataclass(slots=True, kw_only=True)
class SubscribeToShardOutput:
    """The answer of SubscribeToShard: the open stream of events."""

    event_stream: EventStream


async def subscribe(
    opener: StreamOpener,
    request: SubscribeToShardInput,
    parse: Callable[[dict[str, Any]], T],
    *,
    retries: bool = True,
) -> Events[T]:
    """Send SubscribeToShard (checked against the model first) and return its events, each parsed by
    `parse`; returns once Kinesis accepts the subscription, raising its error if it refuses.
    `retries=False` makes one attempt: the caller's own backoff and pacing govern every call."""
    stream = await opener.open_stream(SubscribeToShard, ser_SubscribeToShardInput(request), retries=retries)
    return Events(stream, parse)


async def subscribe_to_shard(opener: StreamOpener, request: SubscribeToShardInput) -> SubscribeToShardOutput:
    """SubscribeToShard with typed events: what `Client.subscribe_to_shard` returns."""
    stream = await opener.open_stream(SubscribeToShard, ser_SubscribeToShardInput(request))
    return SubscribeToShardOutput(event_stream=EventStream(stream))
