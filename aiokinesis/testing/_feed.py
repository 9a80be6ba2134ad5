"""A subscription's event stream, whichever HTTP version carries it: events, its end, its faults.

The transport gives a Sink (write waits while the peer's window or the socket is full); `Feeds`
writes the initial-response, then SubscribeToShardEvents until the shard ends, the subscription's
5 minutes are up on the backend's clock, the client goes away or the server closes, and strikes
the subscription faults (SILENT, DROP_MID_EVENT, EXCEPTION_EVENT, RST_STREAM) on the way.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Protocol

import orjson

from .._eventstream import encode
from ._backend import Backend
from ._dispatch import Subscribed
from ._faults import SUBSCRIPTION_FAULTS, Fault, FaultKind

# How often an open subscription looks for new records, and the longest it stays silent (real time).
SUBSCRIPTION_POLL = 0.02
SUBSCRIPTION_HEARTBEAT = 1.0
_EVENT_HEADERS = {":message-type": "event", ":event-type": "SubscribeToShardEvent", ":content-type": "application/json"}


class Sink(Protocol):
    """Where a subscription's bytes go."""

    async def write(self, data: bytes) -> None:
        """Send data; wait while the peer cannot take it (HTTP/2 window, full socket)."""
        ...

    @property
    def gone(self) -> bool:
        """The client went away (closed, reset the stream, dropped the connection)."""
        ...

    def drop(self) -> None:
        """Abort the connection."""
        ...

    def reset(self) -> None:
        """HTTP/2: reset the stream only; HTTP/1.1: abort the connection."""
        ...


@dataclass(eq=False, kw_only=True)
class OpenSubscription:
    """One subscription being streamed, as `KinesisServer.subscriptions` shows it to tests."""

    consumer_arn: str
    shard_id: str
    protocol: str
    """"HTTP/1.1" or "HTTP/2"."""
    stream_id: int | None
    """The HTTP/2 stream it is served on (None over HTTP/1.1)."""
    events_sent: int = 0
    """SubscribeToShardEvents written whole."""
    bytes_sent: int = 0
    """Bytes handed to the connection (the initial-response included)."""
    bytes_waiting: int = 0
    """Bytes of the frame being written that the peer has not yet let through: above 0 while the
    client does not read (HTTP/2 flow-control window, or a full socket), which is how a test sees
    backpressure without timing it."""


def exception_frame(code: str, message: str) -> bytes:
    """An event-stream exception message, as Kinesis ends a subscription with an error."""
    headers = {":message-type": "exception", ":exception-type": code, ":content-type": "application/json"}
    return encode(headers, orjson.dumps({"message": message}))


class Feeds:
    """Streams subscriptions for one server, and keeps the open ones for tests to see."""

    def __init__(self, backend: Backend, closing: asyncio.Event) -> None:
        self.backend = backend
        self.closing = closing
        self.open: list[OpenSubscription] = []

    async def run(self, opened: Subscribed, sink: Sink, protocol: str, stream_id: int | None = None) -> bool:
        """Stream one subscription; True if the body should end normally, False if the sink was broken."""
        subscription = opened.subscription
        state = OpenSubscription(
            consumer_arn=subscription.consumer.arn,
            shard_id=subscription.shard.shard_id,
            protocol=protocol,
            stream_id=stream_id,
        )
        self.open.append(state)
        try:
            initial = {":message-type": "event", ":event-type": "initial-response", ":content-type": "application/json"}
            await self._write(sink, state, encode(initial, b"{}"))
            return await self._events(opened, sink, state)
        finally:
            self.open.remove(state)

    async def _write(self, sink: Sink, state: OpenSubscription, data: bytes) -> None:
        state.bytes_waiting = len(data)
        try:
            await sink.write(data)
        finally:
            state.bytes_waiting = 0
        state.bytes_sent += len(data)

    async def _events(self, opened: Subscribed, sink: Sink, state: OpenSubscription) -> bool:
        subscription, backend = opened.subscription, self.backend
        fault = opened.fault if opened.fault is not None and opened.fault.kind in SUBSCRIPTION_FAULTS else None
        loop = asyncio.get_running_loop()
        last_sent = float("-inf")
        while not self.closing.is_set() and not sink.gone:
            if fault is not None and state.events_sent >= fault.events and fault.kind is not FaultKind.DROP_MID_EVENT:
                return await self._strike(fault, sink, state)
            backend.advance()
            error = backend.subscription_error(subscription)
            if error is not None:
                await self._write(sink, state, exception_frame(error.code, error.message))
                return True
            expired = backend.clock() >= subscription.ends
            if subscription.has_news or expired or loop.time() - last_sent >= SUBSCRIPTION_HEARTBEAT:
                event, ended = backend.next_event(subscription)
                frame = encode(_EVENT_HEADERS, orjson.dumps(event))
                if fault is not None and state.events_sent >= fault.events:  # DROP_MID_EVENT
                    await self._write(sink, state, frame[: len(frame) // 2])
                    sink.drop()
                    return False
                await self._write(sink, state, frame)
                state.events_sent += 1
                last_sent = loop.time()
                if ended or expired:  # Kinesis ends the stream after the last event, without a word
                    return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.closing.wait(), SUBSCRIPTION_POLL)
        return False

    async def _strike(self, fault: Fault, sink: Sink, state: OpenSubscription) -> bool:
        if fault.kind is FaultKind.EXCEPTION_EVENT:
            await self._write(sink, state, exception_frame(fault.exception_type, "Injected fault."))
            return True
        if fault.kind is FaultKind.RST_STREAM:
            sink.reset()
            return False
        # SILENT: no event and no end, until the client or the server goes
        while not self.closing.is_set() and not sink.gone:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.closing.wait(), SUBSCRIPTION_POLL)
        return False
