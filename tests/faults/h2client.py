"""A small HTTP/2 client (prior knowledge, h2 on asyncio) that drives aiokinesis.testing frame by frame.

It shows what the server put on the wire: each stream's headers, data, end or reset, and the
connection's GOAWAY and EOF. The connection's window is reopened as data arrives; a stream's
only when the test reads it, so a stream the test leaves alone fills its window and stops.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
import orjson

from aiokinesis._eventstream import Decoder, Message

TARGET = "Kinesis_20131202."


@dataclass(eq=False)
class H2Stream:
    stream_id: int
    client: H2Client
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    unread: bytearray = field(default_factory=bytearray)
    """Bytes received that the test has not read: their window is not yet given back."""
    ended: bool = False
    reset_code: int | None = None
    decoder: Decoder = field(default_factory=Decoder)
    messages: deque[Message] = field(default_factory=deque)

    async def read_body(self) -> bytes:
        """Everything until END_STREAM (or reset, or EOF)."""
        await self.client.until(lambda: self.ended or self.reset_code is not None or self.client.eof)
        return self.take()

    def take(self) -> bytes:
        """The unread bytes, giving their window back to the server."""
        data = bytes(self.unread)
        self.unread.clear()
        if data and not self.ended and self.reset_code is None and not self.client.eof:
            self.client.conn.increment_flow_control_window(len(data), self.stream_id)
            self.client.flush()
        return data

    async def message(self) -> Message | None:
        """The next event-stream message; None once the stream is over (ended, reset, EOF) without one."""
        while not self.messages:
            await self.client.until(
                lambda: bool(self.unread) or self.ended or self.reset_code is not None or self.client.eof
            )
            if not self.unread:
                return None
            self.messages.extend(self.decoder.feed(self.take()))
        return self.messages.popleft()

    async def event(self) -> dict[str, Any]:
        """The next SubscribeToShardEvent's JSON (the initial-response skipped)."""
        while True:
            message = await self.message()
            assert message is not None, "the stream ended before an event"
            assert message.headers[":message-type"] == "event", message
            if message.headers[":event-type"] == "SubscribeToShardEvent":
                event: dict[str, Any] = orjson.loads(message.payload)
                return event


class H2Client:
    """One HTTP/2 connection to the server; `open` sends a request and returns its stream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
        self.streams: dict[int, H2Stream] = {}
        self.goaway: h2.events.ConnectionTerminated | None = None
        self.eof = False
        self.settled = False
        """The server's SETTINGS arrived."""
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, endpoint_url: str) -> H2Client:
        url = urlsplit(endpoint_url)
        assert url.hostname == "127.0.0.1"
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        client = cls(reader, writer)
        client.conn.initiate_connection()
        client.flush()
        client._task = asyncio.get_running_loop().create_task(client._read(), name="test-h2-client-reader")
        await client.until(lambda: client.settled or client.eof)
        return client

    async def __aenter__(self) -> H2Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        self._writer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await self._task
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data and not self._writer.is_closing():
            self._writer.write(data)

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait until condition holds, looking again at each frame and every 10 ms (for conditions on
        the server's state); bounded: a broken server fails the test, it does not hang it."""
        async with asyncio.timeout(10):
            while not condition():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.01)

    def open(self, operation: str, body: dict[str, Any], *, end_stream: bool = True) -> H2Stream:
        stream_id = self.conn.get_next_available_stream_id()
        payload = orjson.dumps(body)
        headers = [
            (":method", "POST"),
            (":scheme", "http"),
            (":authority", "127.0.0.1"),
            (":path", "/"),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", TARGET + operation),
            ("content-length", str(len(payload))),
        ]
        self.conn.send_headers(stream_id, headers)
        self.conn.send_data(stream_id, payload, end_stream=end_stream)
        self.flush()
        stream = self.streams[stream_id] = H2Stream(stream_id, self)
        return stream

    async def call(self, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        stream = self.open(operation, body)
        raw = await stream.read_body()
        assert stream.ended, f"stream {stream.stream_id} did not end (reset {stream.reset_code}, eof {self.eof})"
        assert stream.status is not None
        answer: dict[str, Any] = orjson.loads(raw)
        return stream.status, answer

    def reset(self, stream: H2Stream) -> None:
        self.conn.reset_stream(stream.stream_id)
        self.flush()

    async def _read(self) -> None:
        try:
            while data := await self._reader.read(65536):
                for event in self.conn.receive_data(data):
                    self._on(event)
                self.flush()
                self._wake()
        finally:
            self.eof = True
            self._wake()

    def _on(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.ResponseReceived):
            stream = self.streams[event.stream_id]
            stream.headers = {bytes(k).decode(): bytes(v).decode() for k, v in event.headers}
            stream.status = int(stream.headers[":status"])
        elif isinstance(event, h2.events.DataReceived):
            self.streams[event.stream_id].unread += event.data
            # The connection's window reopens at once; the stream's when the test reads it.
            if event.flow_controlled_length:
                self.conn.increment_flow_control_window(event.flow_controlled_length)
        elif isinstance(event, h2.events.StreamEnded):
            self.streams[event.stream_id].ended = True
        elif isinstance(event, h2.events.StreamReset):
            self.streams[event.stream_id].reset_code = int(event.error_code or 0)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = event
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            self.settled = True

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()
