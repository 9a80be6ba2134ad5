"""A small HTTP/2 server (h2c, prior knowledge) on 127.0.0.1 that a test scripts frame by frame.

Each request arrives on `server.requests` as a `Request`; the test answers it (headers, DATA, end,
RST_STREAM), or acts on its connection (GOAWAY, drop, stop answering PINGs). The server's view of
the flow-control windows is readable at any time, which is how backpressure is asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

import h2.config
import h2.connection
import h2.events
import h2.settings
from h2.errors import ErrorCodes
from hyperframe.frame import GoAwayFrame


@dataclass
class Request:
    connection: ServerConnection
    stream_id: int
    headers: dict[str, str]
    body: bytes = b""
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    def respond(self, status: int = 200, headers: dict[str, str] | None = None, *, end: bool = False) -> None:
        pairs = [(":status", str(status)), ("x-amzn-requestid", f"req-{self.stream_id}"), *(headers or {}).items()]
        self.connection.h2.send_headers(self.stream_id, pairs, end_stream=end)
        self.connection.flush()

    def send(self, data: bytes, *, end: bool = False) -> int:
        """Send as much of `data` as the client's windows allow now; returns the bytes sent."""
        return self.connection.send(self.stream_id, data, end=end)

    def end(self) -> None:
        self.connection.h2.end_stream(self.stream_id)
        self.connection.flush()

    def reset(self, code: ErrorCodes = ErrorCodes.INTERNAL_ERROR) -> None:
        self.connection.h2.reset_stream(self.stream_id, code)
        self.connection.flush()

    @property
    def window(self) -> int:
        """What the server may still send on this stream (the client's window, as the server sees it)."""
        return self.connection.h2.local_flow_control_window(self.stream_id)


class ServerConnection:
    def __init__(self, server: ScriptedH2Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        self.deaf = False
        """True: bytes are read and dropped (PINGs go unanswered, nothing else is seen)."""
        self.pings = 0
        self.resets: list[tuple[int, int]] = []
        """(stream id, error code) of each RST_STREAM the client sent."""
        self.window_updates: list[tuple[int, int]] = []
        self.closed = asyncio.Event()
        self.pongs: asyncio.Queue[bytes] = asyncio.Queue()
        self.pinged: asyncio.Queue[bytes] = asyncio.Queue()
        """The client's PINGs, seen (and answered: h2 does that)."""
        self._requests: dict[int, Request] = {}

    async def run(self) -> None:
        settings = {h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self.server.max_concurrent_streams}
        self.h2.local_settings = h2.settings.Settings(client=False, initial_values=settings)
        self.h2.initiate_connection()
        self.flush()
        try:
            for _ in range(1_000_000):
                data = await self.reader.read(65536)
                if not data:
                    break
                if self.deaf:
                    if b"\x06" in data:  # crude, but only counted: a PING frame's type byte
                        self.pings += 1
                    continue
                for event in self.h2.receive_data(data):
                    self._on(event)
                self.flush()
        except (ConnectionError, OSError):
            pass
        finally:
            self.closed.set()
            self.writer.close()

    def _on(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            assert event.stream_id is not None
            request = Request(self, event.stream_id, {str(k): str(v) for k, v in event.headers or []})
            self._requests[event.stream_id] = request
        elif isinstance(event, h2.events.DataReceived):
            assert event.stream_id is not None
            self._requests[event.stream_id].body += event.data or b""
            self.h2.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            request = self._requests[event.stream_id or 0]
            request.ended.set()
            self.server.requests.put_nowait(request)
        elif isinstance(event, h2.events.StreamReset):
            self.resets.append((event.stream_id or 0, int(event.error_code or 0)))
        elif isinstance(event, h2.events.WindowUpdated):
            self.window_updates.append((event.stream_id or 0, event.delta or 0))
        elif isinstance(event, h2.events.PingReceived):
            self.pinged.put_nowait(event.ping_data or b"")
        elif isinstance(event, h2.events.PingAckReceived):
            self.pongs.put_nowait(event.ping_data or b"")

    def send(self, stream_id: int, data: bytes, *, end: bool = False) -> int:
        sent = 0
        while sent < len(data):
            room = min(self.h2.local_flow_control_window(stream_id), self.h2.max_outbound_frame_size)
            if room <= 0:
                break
            chunk = data[sent : sent + room]
            sent += len(chunk)
            self.h2.send_data(stream_id, chunk, end_stream=end and sent == len(data))
        self.flush()
        return sent

    async def round_trip(self) -> None:
        """A PING answered: everything the client sent before it has been seen."""
        self.h2.ping(b"roundtrp")
        self.flush()
        await self.pongs.get()

    def goaway(self, last_stream_id: int) -> None:
        """A graceful GOAWAY, written by hand: h2 would refuse to finish the streams it lets through."""
        frame = GoAwayFrame(0)
        frame.last_stream_id = last_stream_id
        frame.error_code = ErrorCodes.NO_ERROR
        self.flush()
        self.writer.write(frame.serialize())

    def drop(self) -> None:
        """Cut the TCP connection, mid-whatever."""
        self.writer.transport.abort()

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)


class ScriptedH2Server:
    def __init__(self, *, max_concurrent_streams: int = 100) -> None:
        self.max_concurrent_streams = max_concurrent_streams
        self.connections: list[ServerConnection] = []
        self.requests: asyncio.Queue[Request] = asyncio.Queue()
        self._server: asyncio.Server | None = None

    async def next_request(self) -> Request:
        """The next request to arrive; a client that never sends it fails the test (after 30 s) rather than hang it."""
        async with asyncio.timeout(30):
            return await self.requests.get()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = ServerConnection(self, reader, writer)
        self.connections.append(connection)
        await connection.run()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        for connection in self.connections:
            connection.drop()
        self._server.close()
        with contextlib.suppress(Exception):
            await self._server.wait_closed()
