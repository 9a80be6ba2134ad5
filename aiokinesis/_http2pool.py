"""The HTTP/2 connections of one session, per host: many streamed answers multiplexed on each.

A stream goes on a connection of its host with room (fewer streams than min(the cap, the server's
MAX_CONCURRENT_STREAMS), no GOAWAY); when none has room, a new connection is opened. Openers of
one host take turns while a connection is made, so a burst of subscriptions opens one connection,
not one each. A host that does not speak HTTP/2 (ALPN picks HTTP/1.1, or it answers the h2c preface
in HTTP/1) is remembered: `request` then returns None and the session uses HTTP/1.1.

`h2` is optional: nothing here imports it until a connection is made; `h2_available` says whether
it can be.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .config import HttpConfig
from .errors import ClientClosedError, ConnectError, ConnectionLostError, KinesisError, RequestTimeoutError

if TYPE_CHECKING:
    from ._http2 import Http2Connection, Http2Stream

logger = logging.getLogger(__name__)
_ERROR_BODY_LIMIT = 64 * 1024
"""The most of an error answer read: its JSON is a code and a message."""
_FORBIDDEN = frozenset({"host", "connection", "transfer-encoding", "keep-alive", "proxy-connection", "upgrade"})
"""Connection-specific headers HTTP/2 forbids (RFC 9113 8.2.2); Host is :authority there."""


def h2_available() -> bool:
    """True if the optional `h2` package imports (`pip install 'aiokinesis-sdk[http2]'`)."""
    try:
        importlib.import_module("h2.connection")
    except ImportError:
        return False
    return True


class MissingH2Notice:
    """Says once per process, at INFO, that streamed calls go over HTTP/1.1 because h2 is missing."""

    def __init__(self) -> None:
        self.given = False

    def give(self) -> None:
        if not self.given:
            self.given = True
            logger.info(
                "h2 is not installed (pip install 'aiokinesis-sdk[http2]'): enhanced fan-out uses HTTP/1.1, "
                "one connection per subscription"
            )


MISSING_H2 = MissingH2Notice()


async def read_error_body(stream: Http2Stream) -> bytes:
    """The start of a non-2xx answer (what parse_error needs), then the stream is closed."""
    body = bytearray()
    try:
        while len(body) < _ERROR_BODY_LIMIT and (chunk := await stream.read_chunk()):
            body += chunk
    finally:
        stream.close()
    return bytes(body[:_ERROR_BODY_LIMIT])


def tls_context(verify: bool | str, *, http2: bool) -> ssl.SSLContext:
    """A client TLS context: system trust, a CA bundle file (`verify` a path), or no verification
    (`verify` False); offering ALPN h2 then http/1.1 for HTTP/2 (never to aiohttp: it speaks HTTP/1.1 only)."""
    context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if http2:
        context.set_alpn_protocols(["h2", "http/1.1"])
    return context


def request_headers(url: str, host: str, signed: Mapping[str, str], body: bytes) -> list[tuple[str, str]]:
    """The HTTP/2 header list of a signed POST: pseudo-headers first, then the signed headers
    lower-cased without those HTTP/2 forbids (the signature covers `host`, which equals :authority)."""
    parts = urlsplit(url)
    headers = [(":method", "POST"), (":scheme", parts.scheme), (":authority", host), (":path", parts.path or "/")]
    headers += [(name.lower(), value) for name, value in signed.items() if name.lower() not in _FORBIDDEN]
    headers.append(("content-length", str(len(body))))
    return headers


class Http2Pool:
    """Opens streamed requests over HTTP/2; closed once with its session (ClientClosedError to readers)."""

    def __init__(self, config: HttpConfig, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """`sleep` paces the PINGs: the loop's own by default (like aiohttp's timeouts), a test's to drive them."""
        self._config = config
        self._sleep = sleep
        self._connections: dict[tuple[str, str, int], list[Http2Connection]] = {}
        self._turns: dict[tuple[str, str, int], asyncio.Lock] = {}
        self._http1: set[tuple[str, str, int]] = set()
        self._tls: ssl.SSLContext | None = None
        self._closed = False
        self.opened = 0
        """Connections made so far (a figure for tests and tuning)."""

    def connections(self) -> list[Http2Connection]:
        """The connections open now, of every host."""
        return [c for group in self._connections.values() for c in group if not c.closed]

    async def request(
        self, url: str, host: str, headers: list[tuple[str, str]], body: bytes, what: str
    ) -> Http2Stream | None:
        """Send a request on a stream and wait for its response headers; None if the host is HTTP/1.1 only.

        Raises the TransportError of a failed connection or stream (retryable: the session's
        retries reopen it, on a new connection after a GOAWAY), ClientClosedError once closed."""
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        key = (parts.scheme, parts.hostname or "", parts.port or (443 if secure else 80))
        if key in self._http1:
            return None
        async with self._turns.setdefault(key, asyncio.Lock()):
            if self._closed:
                raise ClientClosedError(f"{what}: the client is closed")
            connection = next((c for c in self._connections.get(key, []) if c.has_room), None)
            if connection is None:
                connection = await self._connect(key, host, what)
                if connection is None:
                    self._http1.add(key)
                    return None
            stream = connection.start(headers, body, what)
        try:
            await connection.send_body(stream, body)
            try:
                async with asyncio.timeout(self._config.read_timeout):
                    await stream.answered()
            except TimeoutError:
                raise RequestTimeoutError(f"{what}: no answer from {host} in time") from None
        except BaseException:
            stream.close()
            raise
        return stream

    async def _connect(self, key: tuple[str, str, int], host: str, what: str) -> Http2Connection | None:
        """A new connection, handshake done; None if the server does not speak HTTP/2."""
        from ._http2 import Http2Connection, NotHttp2Error  # noqa: PLC0415 - h2 is optional

        scheme, hostname, port = key
        tls = None
        if scheme == "https":
            if self._tls is None:
                self._tls = tls_context(self._config.verify, http2=True)
            tls = self._tls
        config = self._config
        connection: Http2Connection | None = None
        try:
            async with asyncio.timeout(config.connect_timeout):
                reader, writer = await asyncio.open_connection(
                    hostname, port, ssl=tls, server_hostname=hostname if tls else None
                )
                if tls is not None and writer.get_extra_info("ssl_object").selected_alpn_protocol() != "h2":
                    writer.close()
                    raise NotHttp2Error(f"{host} did not choose h2 by ALPN")
                connection = Http2Connection(
                    reader,
                    writer,
                    host=host,
                    max_streams=config.max_streams_per_connection,
                    read_timeout=config.read_timeout,
                    ping_interval=config.ping_interval,
                    ping_timeout=config.ping_timeout,
                    sleep=self._sleep,
                    on_change=self._changed,
                )
                self._connections.setdefault(key, []).append(connection)
                self.opened += 1
                await connection.handshake()
        except NotHttp2Error:
            return None
        except TimeoutError:
            if connection is not None:
                await connection.close(ConnectError(f"{what}: timed out opening HTTP/2 to {host}"))
            raise ConnectError(f"{what}: timed out connecting to {host}") from None
        except OSError as exc:  # refused, unreachable, TLS verification
            raise ConnectError(f"{what}: cannot connect to {host}: {exc}") from exc
        if self._closed:
            await connection.close(ClientClosedError(f"{what}: the client was closed during the call"))
            raise ClientClosedError(f"{what}: the client was closed during the call")
        return connection

    def _changed(self, connection: Http2Connection) -> None:
        """A connection closed, or lost a stream: forget it if closed, close it if idle and not needed."""
        for key, group in self._connections.items():
            if connection not in group:
                continue
            if connection.closed:
                group.remove(connection)
            elif connection.streams == 0 and any(c is not connection and c.has_room for c in group):
                connection.abandon(ConnectionLostError(f"{key[1]}: idle HTTP/2 connection closed"))
            return

    async def close(self) -> None:
        """Close every connection; their readers get ClientClosedError. Idempotent."""
        self._closed = True
        connections = [c for group in self._connections.values() for c in group]
        self._connections.clear()
        error: KinesisError = ClientClosedError("the client was closed during the stream")
        for connection in connections:
            await connection.close(error)
