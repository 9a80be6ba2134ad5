"""HTTP/1.1 over aiohttp: an answer's streamed body, a whole body's CRC32 check, aiohttp's errors.

The session sends; this module holds what reads an answer's bytes off aiohttp, checks DynamoDB's
x-amz-crc32, and turns an aiohttp failure into an aiokinesis.errors one (the one place that is done).
"""

from __future__ import annotations

import zlib
from typing import Protocol

import aiohttp

from .errors import (
    ClientClosedError,
    ConnectError,
    ConnectionLostError,
    KinesisError,
    RequestTimeoutError,
    TransportError,
)


class StreamOwner(Protocol):
    """What a ResponseStream needs of the session it came from."""

    @property
    def closed(self) -> bool: ...

    def failure(self, exc: aiohttp.ClientError | TimeoutError, what: str, host: str) -> KinesisError: ...

    def forget(self, response: aiohttp.ClientResponse) -> None: ...


class ResponseStream:
    """The body of a streaming answer, read chunk by chunk with errors translated."""

    def __init__(self, response: aiohttp.ClientResponse, what: str, host: str, session: StreamOwner) -> None:
        self._response = response
        self._what = what
        self._host = host
        self._session = session
        self._closed = False
        self.request_id = response.headers.get("x-amzn-RequestId")

    async def read_chunk(self) -> bytes:
        """The next bytes to arrive; empty at the end of the body. ClientClosedError once the client
        is closed: its pool, and so this stream's connection, is gone (the stream is closed too)."""
        if self._session.closed:
            self.close()
            raise ClientClosedError(f"{self._what}: the client is closed")
        try:
            chunk = await self._response.content.readany()
        except ClientClosedError:  # set by Session.close
            self.close()
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = self._session.failure(exc, self._what, self._host)
            if isinstance(error, ClientClosedError):
                self.close()
            raise error from exc
        if not chunk and self._session.closed:  # the pool closed under the read: not the stream's own end
            self.close()
            raise ClientClosedError(f"{self._what}: the client was closed during the stream")
        return chunk

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Drop the connection: a stream read part-way cannot go back to the pool."""
        self._closed = True
        self._session.forget(self._response)
        self._response.close()


def check_crc32(header: str, response: aiohttp.ClientResponse, body: bytes, what: str, host: str) -> None:
    """A body damaged on the way (DynamoDB's x-amz-crc32 disagrees) is retried like a truncated one.

    No header, nothing to check. A body aiohttp decoded (a Content-Encoding, though we asked for
    identity) is not the bytes the checksum is of: it is let through, as it cannot be checked."""
    sent = response.headers.get(header)
    if sent is None:
        return
    got = zlib.crc32(body)
    if sent == str(got) or (sent.strip().isdigit() and int(sent) == got):
        return
    if response.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
        return
    raise ConnectionLostError(
        f"{what}: the answer from {host} fails its {header} check: header {sent!r}, "
        f"CRC32 of the {len(body)}-byte body {got}"
    )


def transport_error(exc: aiohttp.ClientError | TimeoutError, what: str, host: str) -> TransportError:
    """The aiokinesis error for an aiohttp failure: the one place they are translated."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ConnectError(f"{what}: cannot connect to {host}: {exc}")
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ConnectError(f"{what}: timed out connecting to {host}")
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return RequestTimeoutError(f"{what}: no answer from {host} in time")
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError | aiohttp.ClientPayloadError):
        return ConnectionLostError(f"{what}: connection to {host} lost: {exc!r}")
    return TransportError(f"{what}: HTTP exchange with {host} failed: {exc!r}")
