"""KinesisServer: the in-memory backend behind one port (on 127.0.0.1 unless told), HTTP/1.1 and HTTP/2, with faults.

HTTP/1.1 is aiohttp.web's; a connection that opens with the HTTP/2 preface (h2c, prior
knowledge) is served by _h2serve when h2 is installed. Both hand requests to _dispatch and
stream subscriptions through _feed, so every operation and fault behaves alike on both.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from aiohttp import web

from ._backend import Backend
from ._dispatch import CONTENT_TYPE, EVENT_STREAM_TYPE, Answer, Dispatcher, Subscribed
from ._faults import Fault, FaultKind, Faults
from ._feed import Feeds, OpenSubscription
from ._limits import Limits
from ._transitions import StateDurations

if TYPE_CHECKING:
    from ._h2serve import H2Protocol


class KinesisServer:
    """A local Kinesis that enforces AWS's limits and injects faults on demand.

    `async with KinesisServer(streams={"orders": 4}) as server:` then point a client at
    `server.endpoint_url`. `server.inject(Fault(...))` schedules a fault; `server.backend`
    is the state, for set-up and assertions between requests; `server.subscriptions` the
    subscriptions being streamed. Listens on `host` (127.0.0.1 unless told), HTTP/1.1 and (with h2
    installed) HTTP/2 with prior knowledge, advertising `max_concurrent_streams` per connection.
    `durations` keeps streams, consumers and queues CREATING / UPDATING / DELETING for a while on
    `clock`, as AWS does (none by default); the `streams` made here are ACTIVE at once.
    """

    def __init__(
        self,
        *,
        streams: Mapping[str, int] | None = None,
        limits: Limits = Limits(),  # noqa: B008 - frozen
        clock: Callable[[], float] = time.time,
        seed: int | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        region: str = "us-east-1",
        account: str = "123456789012",
        max_concurrent_streams: int = 100,
        durations: StateDurations = StateDurations(),  # noqa: B008 - frozen
    ) -> None:
        if not isinstance(max_concurrent_streams, int) or not 1 <= max_concurrent_streams < 2**31:
            raise ValueError(
                f"KinesisServer.max_concurrent_streams is from 1 to 2**31 - 1, not {max_concurrent_streams!r}"
            )
        self.backend = Backend(clock=clock, limits=limits, region=region, account=account, durations=durations)
        """The state (streams, shards, records, queues), for set-up and assertions between requests."""
        self.faults = Faults(seed)
        """The faults scheduled: `inject()` adds one, `faults.clear()` removes them all."""
        for name, shard_count in (streams or {}).items():
            self.backend.create_stream(name, shard_count)
        self.max_concurrent_streams = max_concurrent_streams
        self._port = port
        self.host = host
        """The address it listens on: 127.0.0.1 unless told (an address of this machine, or 0.0.0.0)."""
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._closing = asyncio.Event()
        self._dispatcher = Dispatcher(self.backend, self.faults, self._closing)
        self._feeds = Feeds(self.backend, self._closing)
        self._h2_connections: set[H2Protocol] = set()
        self.http2 = False
        """Whether HTTP/2 is served (h2 is installed); set by start()."""

    @property
    def endpoint_url(self) -> str:
        """http://127.0.0.1:PORT, to give a client as `endpoint_url` (once started)."""
        if self._runner is None:
            raise RuntimeError("the server is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def subscriptions(self) -> list[OpenSubscription]:
        """The subscriptions being streamed now, oldest first (counts of events and bytes, for tests)."""
        return list(self._feeds.open)

    def inject(self, fault: Fault) -> Fault:
        """Schedule a fault; the returned object's `fired` counts how often it has struck."""
        return self.faults.add(fault)

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        http1 = self._runner.server
        assert http1 is not None
        factory: Callable[[], asyncio.BaseProtocol] = http1
        try:
            h2serve = importlib.import_module("aiokinesis.testing._h2serve")
        except ImportError:  # h2 is not installed: HTTP/1.1 only
            pass
        else:
            self.http2 = True

            def http2() -> asyncio.Protocol:
                protocol: asyncio.Protocol = h2serve.H2Protocol(
                    self._dispatcher,
                    self._feeds,
                    max_concurrent_streams=self.max_concurrent_streams,
                    connections=self._h2_connections,
                )
                return protocol

            def sniffer() -> asyncio.BaseProtocol:
                protocol: asyncio.BaseProtocol = h2serve.Sniffer(http1, http2)
                return protocol

            factory = sniffer
        loop = asyncio.get_running_loop()
        self._listener = await loop.create_server(factory, self.host, self._port, reuse_address=True)
        self._port = self._listener.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self._closing.set()  # ends open subscriptions, so shutdown does not wait for them
        if self._listener is not None:
            self._listener.close()
        for connection in list(self._h2_connections):
            connection.shutdown()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        outcome = await self._dispatcher.handle(
            request.headers.get("X-Amz-Target", ""),
            raw,
            http2=False,
            authorization=request.headers.get("Authorization"),
            gone=lambda: request.transport is None or request.transport.is_closing(),
        )
        if isinstance(outcome, Subscribed):
            return await self._subscribe(request, outcome)
        assert isinstance(outcome, Answer), "HTTP/2-only faults never fire over HTTP/1.1"
        if outcome.broken is not None:
            return await self._broken(request, outcome)
        return web.Response(status=outcome.status, body=outcome.body, headers=outcome.headers)

    async def _subscribe(self, request: web.Request, opened: Subscribed) -> web.StreamResponse:
        """Stream SubscribeToShardEvents until the shard ends, the subscription's time is up,
        the client goes away, a fault strikes or the server closes."""
        response = web.StreamResponse(
            headers={"Content-Type": EVENT_STREAM_TYPE, "x-amzn-RequestId": opened.request_id}
        )
        await response.prepare(request)
        try:
            if await self._feeds.run(opened, _ResponseSink(request, response), "HTTP/1.1"):
                await response.write_eof()
        except ConnectionError:
            pass  # the client closed the subscription
        return response

    @staticmethod
    async def _broken(request: web.Request, answer: Answer) -> web.StreamResponse:
        """An answer that never arrives whole: the request was processed all the same."""
        transport = request.transport
        assert transport is not None
        if answer.broken is FaultKind.RESET_BEFORE_RESPONSE:
            transport.abort()
            raise asyncio.CancelledError
        body = answer.body
        response = web.StreamResponse(
            status=answer.status, headers={"Content-Type": CONTENT_TYPE, "Content-Length": str(len(body))}
        )
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
        if answer.broken is FaultKind.RESET_MID_RESPONSE:
            transport.abort()
        else:
            transport.close()
        return response


class _ResponseSink:
    """A subscription's HTTP/1.1 chunked body, as _feed.Feeds writes to it."""

    def __init__(self, request: web.Request, response: web.StreamResponse) -> None:
        self._transport = request.transport
        self._response = response

    async def write(self, data: bytes) -> None:
        await self._response.write(data)

    @property
    def gone(self) -> bool:
        return self._transport is None or self._transport.is_closing()

    def drop(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def reset(self) -> None:
        self.drop()


@contextlib.contextmanager
def serve_in_thread(**options: Any) -> Iterator[KinesisServer]:
    """Run a KinesisServer on its own event loop in a daemon thread, for sync tests or fixtures.

    Faults may be injected from the test's thread; touch `backend` only between requests.
    """
    loop = asyncio.new_event_loop()
    server = KinesisServer(**options)
    started = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start())
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
            started.set()
            return
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="aiokinesis-testing-server", daemon=True)
    thread.start()
    started.wait(30)
    try:
        if failure:
            raise failure[0]
        yield server
    finally:
        if not failure:
            asyncio.run_coroutine_threadsafe(server.close(), loop).result(30)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()
