"""One HTTP/2 stream: a request's answer on a shared connection, as the caller reads it.

The connection's reader task feeds it (headers, data, end, error); the caller reads chunk by
chunk, and each chunk is acknowledged to the connection only as it is read, so the window opens
at the reader's pace. This module needs no h2: only the connection speaks the protocol.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

from multidict import CIMultiDict

from .errors import ClientClosedError, KinesisError, RequestTimeoutError


class StreamConnection(Protocol):
    """What a stream needs of its connection (an _http2.Http2Connection)."""

    @property
    def host(self) -> str: ...

    def consumed(self, stream_id: int, size: int) -> None: ...

    def cancel(self, stream_id: int, unread: int) -> None: ...


class Http2Stream:
    """One request's answer on a shared connection; a BodyStream (read_chunk, closed, close, request_id)."""

    def __init__(self, connection: StreamConnection, stream_id: int, what: str, read_timeout: float) -> None:
        self._connection = connection
        self.stream_id = stream_id
        self.what = what
        self._read_timeout = read_timeout
        self._chunks: deque[tuple[bytes, int]] = deque()
        """(data, flow-controlled length) received, not yet read: at most the stream window."""
        self._ended = False
        self._error: KinesisError | None = None
        self._closed = False
        self._wake = asyncio.Event()
        self._answered = asyncio.Event()
        self.status = 0
        self.headers: CIMultiDict[str] = CIMultiDict()
        self.request_id: str | None = None

    async def answered(self) -> None:
        """Wait for the response headers; raises the stream's error if it fails first."""
        while not self._answered.is_set():
            if self._error is not None:
                self._closed = True
                raise self._error
            self._wake.clear()
            await self._wake.wait()

    async def read_chunk(self) -> bytes:
        """The next DATA to arrive, acknowledged only now (so the window opens as the caller reads);
        empty at the end. Data received before a connection loss or a reset is delivered first."""
        while True:
            if isinstance(self._error, ClientClosedError):
                self.close()
                raise self._error
            if self._chunks:
                data, size = self._chunks.popleft()
                self._connection.consumed(self.stream_id, size)
                if data:
                    return data
                continue
            if self._error is not None:
                self._closed = True
                raise self._error
            if self._ended or self._closed:
                return b""
            self._wake.clear()
            try:
                async with asyncio.timeout(self._read_timeout):
                    await self._wake.wait()
            except TimeoutError:
                self.close()
                raise RequestTimeoutError(
                    f"{self.what}: nothing from {self._connection.host} in {self._read_timeout:g} s"
                ) from None

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """RST_STREAM(CANCEL) for this stream only, if it is still open; its slot is freed. Idempotent."""
        if self._closed:
            return
        self._closed = True
        unread = sum(size for _, size in self._chunks)
        self._chunks.clear()
        self._connection.cancel(self.stream_id, unread)

    # -- fed by the connection's reader task ---------------------------------------------------

    def on_headers(self, headers: list[tuple[str, str]]) -> None:
        for name, value in headers:
            if name == ":status":
                self.status = int(value)
            elif not name.startswith(":"):
                self.headers.add(name, value)
        self.request_id = self.headers.get("x-amzn-requestid")
        self._answered.set()
        self._wake.set()

    def on_data(self, data: bytes, size: int) -> bool:
        """Keep a chunk for the reader; False if the reader closed the stream (the caller acknowledges it)."""
        if self._closed:
            return False
        self._chunks.append((data, size))
        self._wake.set()
        return True

    def on_end(self) -> None:
        self._ended = True
        self._wake.set()

    def on_error(self, error: KinesisError) -> None:
        if self._error is None and not self._ended:
            self._error = error
        self._wake.set()
