"""One HTTP/2 connection: python-hyper's sans-IO `h2` state machine driven over asyncio streams.

A single reader task feeds what arrives to h2 and hands each stream its events; every stream is a
small record (its unread chunks, its end or its error), in _http2stream. Flow control is the
backpressure: a chunk is acknowledged to h2 (so a WINDOW_UPDATE may go out) only when the reader
takes it, so what sits unread is bounded by the window advertised per stream. GOAWAY, RST_STREAM and a lost connection
fail only the streams they affect. This module imports h2: `_http2pool` imports it only when used.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from h2.errors import ErrorCodes

from ._http2stream import Http2Stream as Http2Stream  # the stream's home; tests and the pool name it here
from .errors import ConnectionLostError, KinesisError, TransportError

STREAM_WINDOW = 1024 * 1024
"""The receive window advertised per stream (SETTINGS_INITIAL_WINDOW_SIZE): the most one stream
holds unread. The connection window is this times the streams allowed, up to HTTP/2's maximum."""
_MAX_WINDOW = 2**31 - 1
_DEFAULT_WINDOW = 65535
_READ_SIZE = 64 * 1024


class NotHttp2Error(ConnectionLostError):
    """The server does not speak HTTP/2: ALPN chose another protocol, or it answered the preface in
    HTTP/1. The pool then uses HTTP/1.1 for that host; no caller sees this error."""


class Http2Connection:
    """The h2 state machine of one socket, its streams and its liveness; opened by the pool."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        host: str,
        max_streams: int,
        read_timeout: float,
        ping_interval: float,
        ping_timeout: float,
        sleep: Callable[[float], Awaitable[None]],
        on_change: Callable[[Http2Connection], None],
    ) -> None:
        self.host = host
        self._reader = reader
        self._writer = writer
        self._cap = max_streams
        self._read_timeout = read_timeout
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._sleep = sleep
        self._on_change = on_change
        self._h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self._streams: dict[int, Http2Stream] = {}
        self._settled = asyncio.Event()
        self._window = asyncio.Event()
        self._received = 0
        """Reads that brought bytes: the liveness check's evidence that the peer is there."""
        self._pings = itertools.count(1)
        self._ping_answered = 0
        self.goaway = False
        self.error: KinesisError | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def closed(self) -> bool:
        return self.error is not None

    @property
    def streams(self) -> int:
        return len(self._streams)

    @property
    def has_room(self) -> bool:
        """Another stream fits: up to min(our cap, the server's MAX_CONCURRENT_STREAMS), no GOAWAY."""
        if self.closed or self.goaway:
            return False
        return len(self._streams) < min(self._cap, self._h2.remote_settings.max_concurrent_streams)

    async def handshake(self) -> None:
        """Send the preface and our settings, then wait for the server's SETTINGS (raises NotHttp2Error for an
        HTTP/1 answer, a TransportError for anything else). The caller bounds it with its connect timeout."""
        self._h2.local_settings = h2.settings.Settings(
            client=True,
            initial_values={
                h2.settings.SettingCodes.ENABLE_PUSH: 0,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: STREAM_WINDOW,
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100,
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: 64 * 1024,
            },
        )
        self._h2.initiate_connection()
        self._h2.increment_flow_control_window(min(_MAX_WINDOW, self._cap * STREAM_WINDOW) - _DEFAULT_WINDOW)
        self._flush()
        self._task = asyncio.create_task(self._run(), name=f"aiokinesis-http2 {self.host}")
        await self._settled.wait()
        if self.error is not None:
            raise self.error

    def start(self, headers: list[tuple[str, str]], body: bytes, what: str) -> Http2Stream:
        """Open a stream and send its headers now (the slot is taken in the same step as `has_room`)."""
        try:
            stream_id = self._h2.get_next_available_stream_id()
            self._h2.send_headers(stream_id, headers, end_stream=not body)
        except h2.exceptions.H2Error as exc:  # the server lowered MAX_CONCURRENT_STREAMS, stream ids ran out
            self.goaway = True  # take no more here; the retry goes to another connection
            self._on_change(self)
            raise ConnectionLostError(f"{what}: no new HTTP/2 stream on {self.host}: {exc!r}") from exc
        stream = Http2Stream(self, stream_id, what, self._read_timeout)
        self._streams[stream_id] = stream
        self._flush()
        return stream

    async def send_body(self, stream: Http2Stream, body: bytes) -> None:
        """Send a request body within the server's flow-control windows."""
        while body:
            if self.error is not None or stream.stream_id not in self._streams:
                return  # the stream's own error says why
            window = min(self._h2.local_flow_control_window(stream.stream_id), self._h2.max_outbound_frame_size)
            if window <= 0:
                self._window.clear()
                await self._window.wait()
                continue
            chunk, body = body[:window], body[window:]
            self._h2.send_data(stream.stream_id, chunk, end_stream=not body)
            self._flush()
            with contextlib.suppress(ConnectionError):  # the reader task reports the loss
                await self._writer.drain()

    def consumed(self, stream_id: int, size: int) -> None:
        """The reader took `size` flow-controlled bytes: hand them back to the server's windows."""
        if size and self.error is None:
            self._h2.acknowledge_received_data(size, stream_id)
            self._flush()

    def cancel(self, stream_id: int, unread: int) -> None:
        """The reader closed the stream: reset it if open, return its unread bytes to the connection window."""
        stream = self._streams.pop(stream_id, None)
        if self.error is None:
            if stream is not None:
                with contextlib.suppress(h2.exceptions.StreamClosedError):
                    self._h2.reset_stream(stream_id, ErrorCodes.CANCEL)
            self.consumed(stream_id, unread)
            self._flush()
        if stream is not None:
            self._freed()

    def abandon(self, error: KinesisError) -> None:
        """Send GOAWAY, fail every stream with `error` and drop the socket; its tasks end on their own."""
        if self.error is None:
            with contextlib.suppress(h2.exceptions.ProtocolError):
                self._h2.close_connection()
            self._flush()
        self._fail(error)

    async def close(self, error: KinesisError) -> None:
        """`abandon`, then wait for its tasks and socket to finish."""
        self.abandon(error)
        if self._task is not None:
            await asyncio.wait([self._task])
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    # -- the reader and liveness tasks -----------------------------------------------------------

    async def _run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._read_loop(), name=f"aiokinesis-http2-read {self.host}")
            tasks.create_task(self._keepalive(), name=f"aiokinesis-http2-ping {self.host}")

    async def _read_loop(self) -> None:
        try:
            while self.error is None:
                data = await self._reader.read(_READ_SIZE)
                if not data:
                    raise ConnectionLostError(f"{self.host} closed the HTTP/2 connection")
                if not self._settled.is_set() and data.startswith(b"HTTP/"):
                    raise NotHttp2Error(f"{self.host} answered the HTTP/2 preface in HTTP/1")
                self._received += 1
                try:
                    events = self._h2.receive_data(data)
                except h2.exceptions.ProtocolError as exc:
                    self._flush()  # h2's GOAWAY saying why, if it made one
                    raise ConnectionLostError(f"HTTP/2 protocol error from {self.host}: {exc!r}") from exc
                for event in events:
                    self._dispatch(event)
                self._flush()
        except TransportError as exc:
            self._fail(exc)
        except OSError as exc:  # reset, TLS failure
            self._fail(ConnectionLostError(f"HTTP/2 connection to {self.host} lost: {exc!r}"))
        except Exception as exc:  # an h2 surprise must fail the streams, never leave them waiting
            self._fail(TransportError(f"HTTP/2 connection to {self.host} failed: {exc!r}"))

    async def _keepalive(self) -> None:
        """PING after each interval in which nothing arrived; no answer within the timeout fails the connection."""
        while self.error is None:
            seen = self._received
            await self._sleep(self._ping_interval)
            if self._received != seen or self.error is not None:
                continue
            ping = next(self._pings)
            self._h2.ping(ping.to_bytes(8, "big"))
            self._flush()
            await self._sleep(self._ping_timeout)
            if self._ping_answered < ping and self.error is None:
                self._fail(
                    ConnectionLostError(f"{self.host} did not answer an HTTP/2 PING in {self._ping_timeout:g} s")
                )

    def _dispatch(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.DataReceived):
            assert event.stream_id is not None
            assert event.flow_controlled_length is not None
            stream = self._streams.get(event.stream_id)
            if stream is None or not stream.on_data(event.data or b"", event.flow_controlled_length):
                self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.ResponseReceived):
            if (stream := self._streams.get(event.stream_id or 0)) is not None:
                stream.on_headers([(str(k), str(v)) for k, v in event.headers or []])
        elif isinstance(event, h2.events.StreamEnded):
            if (stream := self._streams.pop(event.stream_id or 0, None)) is not None:
                stream.on_end()
                self._freed()
        elif isinstance(event, h2.events.StreamReset):
            if (stream := self._streams.pop(event.stream_id or 0, None)) is not None:
                code = _code(event.error_code)
                stream.on_error(ConnectionLostError(f"{stream.what}: {self.host} reset the stream ({code})"))
                self._freed()
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            self._settled.set()
            self._on_change(self)  # MAX_CONCURRENT_STREAMS may have changed
        elif isinstance(event, h2.events.WindowUpdated):
            self._window.set()
        elif isinstance(event, h2.events.PingAckReceived):
            self._ping_answered = max(self._ping_answered, int.from_bytes(event.ping_data or b"", "big"))
        elif isinstance(event, h2.events.ConnectionTerminated):
            self._goaway(event.last_stream_id or 0, event.error_code)

    def _goaway(self, last_stream_id: int, error_code: ErrorCodes | int | None) -> None:
        """No new streams here; those above last_stream_id were never processed: they fail as retryable."""
        self.goaway = True
        # h2 (4.4.1; python-hyper/h2#1181) closes its state machine on any GOAWAY and has no setting
        # against it, so the DATA of the streams the server still finishes would be refused as a
        # protocol error; RFC 9113 6.8 lets them complete. Reopen it: nothing new starts here (`goaway`
        # keeps the pool off), only those streams are read. tests/unit/test_h2_goaway.py pins this.
        if self._h2.state_machine.state is h2.connection.ConnectionState.CLOSED:
            self._h2.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN
        for stream_id in [i for i in self._streams if i > last_stream_id]:
            stream = self._streams.pop(stream_id)
            stream.on_error(
                ConnectionLostError(
                    f"{stream.what}: {self.host} sent GOAWAY ({_code(error_code)}) before it took the request"
                )
            )
        self._on_change(self)
        if not self._streams:
            self._fail(ConnectionLostError(f"{self.host} closed the HTTP/2 connection (GOAWAY)"))

    def _freed(self) -> None:
        if self.goaway and not self._streams and self.error is None:
            self._fail(ConnectionLostError(f"{self.host} closed the HTTP/2 connection (GOAWAY)"))
            return
        self._on_change(self)

    def _fail(self, error: KinesisError) -> None:
        if self.error is not None:
            return
        self.error = error
        self._settled.set()
        self._window.set()
        streams, self._streams = self._streams, {}
        for stream in streams.values():
            stream.on_error(error)
        self._writer.close()
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        self._on_change(self)

    def _flush(self) -> None:
        data = self._h2.data_to_send()
        if data and not self._writer.is_closing():
            self._writer.write(data)


def _code(code: ErrorCodes | int | None) -> str:
    if isinstance(code, ErrorCodes):
        return code.name
    return f"error code {code}"
