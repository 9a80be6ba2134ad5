"""HTTP/2 over cleartext (h2c, prior knowledge) for KinesisServer, on the same port as HTTP/1.1.

`Sniffer` reads a connection's first bytes: the HTTP/2 preface hands it to `H2Protocol`, anything
else to aiohttp's protocol (transport.set_protocol). `H2Protocol` owns one h2 state machine;
each request's stream gets a task that runs the shared `Dispatcher`, and SubscribeToShard's
events go out through `Feeds` as DATA only within the peer's flow-control windows, so a client
that stops reading one stream blocks that stream only. Imports h2: load this module lazily.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from h2.errors import ErrorCodes
from h2.settings import SettingCodes

from ._dispatch import Answer, Dispatcher, GoAway, Subscribed, error_answer
from ._faults import FaultKind
from ._feed import Feeds
from ._state import ApiError

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_REQUEST_WINDOW = 16 * 1024 * 1024
"""The window the server grants for request bodies (PutRecords reach 5 MiB): it reads them whole."""


class Sniffer(asyncio.Protocol):
    """Serves a connection with `http2()` if it opens with the HTTP/2 preface, else with `http1()`."""

    def __init__(self, http1: Callable[[], asyncio.BaseProtocol], http2: Callable[[], asyncio.Protocol]) -> None:
        self._http1 = http1
        self._http2 = http2
        self._transport: asyncio.Transport | None = None
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        head = self._buffer[: len(PREFACE)]
        if PREFACE.startswith(head) and len(head) < len(PREFACE):
            return  # maybe HTTP/2: wait for the rest of the preface
        self._hand_over(self._http2() if head == PREFACE else self._http1())

    def eof_received(self) -> bool | None:
        if self._transport is not None:
            self._transport.close()
        return None

    def _hand_over(self, protocol: asyncio.BaseProtocol) -> None:
        transport = self._transport
        assert transport is not None
        assert isinstance(protocol, asyncio.Protocol)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        protocol.data_received(self._buffer)
        self._buffer = b""


@dataclass(eq=False)
class _Stream:
    stream_id: int
    headers: dict[str, str]
    body: bytearray = field(default_factory=bytearray)
    task: asyncio.Task[None] | None = None
    gone: bool = False
    """Reset by the peer, or the connection is lost."""


class _StreamSink:
    """A subscription's HTTP/2 stream, as _feed.Feeds writes to it."""

    def __init__(self, connection: H2Protocol, stream: _Stream) -> None:
        self._connection = connection
        self._stream = stream

    async def write(self, data: bytes) -> None:
        await self._connection.send(self._stream, data)

    @property
    def gone(self) -> bool:
        return self._stream.gone

    def drop(self) -> None:
        self._connection.abort()

    def reset(self) -> None:
        self._connection.reset(self._stream, ErrorCodes.INTERNAL_ERROR)


class H2Protocol(asyncio.Protocol):
    """One HTTP/2 connection to a KinesisServer."""

    def __init__(
        self, dispatcher: Dispatcher, feeds: Feeds, *, max_concurrent_streams: int, connections: set[H2Protocol]
    ) -> None:
        self._dispatcher = dispatcher
        self._feeds = feeds
        self._connections = connections
        config = h2.config.H2Configuration(client_side=False, header_encoding=None)
        self._h2 = h2.connection.H2Connection(config=config)
        self._max_concurrent_streams = max_concurrent_streams
        self._transport: asyncio.Transport | None = None
        self._streams: dict[int, _Stream] = {}
        self._seen: list[int] = []
        """Every stream id the peer opened, in order (for GOAWAY's last_stream_id)."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._window = asyncio.Event()
        """Set (and replaced) whenever a window may have grown or the socket drained."""
        self._writable = True
        self._lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._connections.add(self)
        self._h2.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                SettingCodes.MAX_CONCURRENT_STREAMS: self._max_concurrent_streams,
                SettingCodes.INITIAL_WINDOW_SIZE: _REQUEST_WINDOW,
                SettingCodes.MAX_HEADER_LIST_SIZE: 64 * 1024,
            },
        )
        self._h2.initiate_connection()
        self._h2.increment_flow_control_window(_REQUEST_WINDOW)
        self._flush()

    def data_received(self, data: bytes) -> None:
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError:  # h2 has queued the GOAWAY that says why
            self._flush()
            self.close()
            return
        for event in events:
            self._on(event)
        self._flush()

    def _on(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            headers = {bytes(k).decode("latin-1"): bytes(v).decode("latin-1") for k, v in event.headers}
            self._streams[event.stream_id] = _Stream(event.stream_id, headers)
            self._seen.append(event.stream_id)
        elif isinstance(event, h2.events.DataReceived):
            stream = self._streams.get(event.stream_id)
            if stream is not None:
                stream.body += event.data
            self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            stream = self._streams.get(event.stream_id)
            if stream is not None and stream.task is None:
                stream.task = asyncio.get_running_loop().create_task(
                    self._serve(stream), name=f"aiokinesis-testing-h2-stream-{event.stream_id}"
                )
                self._tasks.add(stream.task)
                stream.task.add_done_callback(self._tasks.discard)
        elif isinstance(event, h2.events.StreamReset):
            stream = self._streams.pop(event.stream_id, None)
            if stream is not None:
                stream.gone = True
                self._wake()
        elif isinstance(event, h2.events.WindowUpdated | h2.events.RemoteSettingsChanged):
            self._wake()
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.close()

    async def _serve(self, stream: _Stream) -> None:
        try:
            if stream.headers.get(":method") != "POST" or stream.headers.get(":path") != "/":
                path = stream.headers.get(":path")
                await self._answer(
                    stream, error_answer(ApiError("UnknownOperationException", f"No route {path}.", 404))
                )
                return
            target = stream.headers.get("x-amz-target", "")
            outcome = await self._dispatcher.handle(
                target,
                bytes(stream.body),
                http2=True,
                authorization=stream.headers.get("authorization"),
                gone=lambda: stream.gone or self._lost,
            )
            if isinstance(outcome, GoAway):
                self._go_away(stream.stream_id)
            elif isinstance(outcome, Answer):
                await self._answer(stream, outcome)
            else:
                await self._subscription(stream, outcome)
        except (ConnectionError, h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            pass  # the peer reset the stream or the connection went
        finally:
            self._streams.pop(stream.stream_id, None)

    async def _answer(self, stream: _Stream, answer: Answer) -> None:
        if stream.gone or self._lost:
            return
        sid, body = stream.stream_id, answer.body
        if answer.broken is FaultKind.RESET_BEFORE_RESPONSE:
            self.abort()
            return
        headers = [(":status", str(answer.status)), *answer.headers.items(), ("content-length", str(len(body)))]
        self._h2.send_headers(sid, headers)
        if answer.broken is None:
            await self.send(stream, body)
            self._h2.end_stream(sid)
            self._flush()
            return
        # RESET_MID_RESPONSE: half the body, then the connection aborts; TRUNCATED_BODY: the stream is reset
        await self.send(stream, body[: len(body) // 2])
        if answer.broken is FaultKind.RESET_MID_RESPONSE:
            self.abort()
        else:
            self.reset(stream, ErrorCodes.INTERNAL_ERROR)

    async def _subscription(self, stream: _Stream, opened: Subscribed) -> None:
        headers = [
            (":status", "200"),
            ("content-type", "application/vnd.amazon.eventstream"),
            ("x-amzn-requestid", opened.request_id),
        ]
        self._h2.send_headers(stream.stream_id, headers)
        self._flush()
        if await self._feeds.run(opened, _StreamSink(self, stream), "HTTP/2", stream.stream_id) and not stream.gone:
            self._h2.end_stream(stream.stream_id)
            self._flush()

    async def send(self, stream: _Stream, data: bytes) -> None:
        """Send data on a stream, within its window and the connection's, as they open."""
        view = memoryview(data)
        while view:
            if stream.gone or self._lost:
                raise ConnectionResetError(f"HTTP/2 stream {stream.stream_id} is gone")
            room = min(self._h2.local_flow_control_window(stream.stream_id), self._h2.max_outbound_frame_size)
            if room <= 0 or not self._writable:
                window = self._window
                await window.wait()
                continue
            self._h2.send_data(stream.stream_id, bytes(view[:room]))
            view = view[room:]
            self._flush()

    def reset(self, stream: _Stream, code: ErrorCodes) -> None:
        if not stream.gone and not self._lost:
            stream.gone = True
            self._h2.reset_stream(stream.stream_id, code)
            self._flush()
            self._wake()

    def _go_away(self, refused: int) -> None:
        """GOAWAY naming the newest stream before `refused` as the last processed, then close."""
        last = max((sid for sid in self._seen if sid < refused), default=0)
        self._h2.close_connection(ErrorCodes.NO_ERROR, last_stream_id=last)
        self._flush()
        self.close()

    def _flush(self) -> None:
        data = self._h2.data_to_send()
        if data and self._transport is not None and not self._lost:
            self._transport.write(data)

    def _wake(self) -> None:
        self._window.set()
        self._window = asyncio.Event()

    def pause_writing(self) -> None:
        self._writable = False

    def resume_writing(self) -> None:
        self._writable = True
        self._wake()

    def shutdown(self) -> None:
        """The server closes: GOAWAY, then the connection (open subscriptions end with it)."""
        if not self._lost:
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self._h2.close_connection(ErrorCodes.NO_ERROR)
            self._flush()
        self.close()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        self._end()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()
        self._end()

    def connection_lost(self, exc: Exception | None) -> None:
        self._end()

    def _end(self) -> None:
        if self._lost:
            return
        self._lost = True
        self._connections.discard(self)
        for stream in self._streams.values():
            stream.gone = True
        self._wake()
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()
