"""KinesisServer: the in-memory backend behind an aiohttp.web app on 127.0.0.1, with faults."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, Self

import orjson
from aiohttp import web

from .._eventstream import encode
from ._backend import Backend
from ._faults import Fault, FaultKind, Faults
from ._limits import Limits
from ._state import ApiError, Shard, Subscription

CONTENT_TYPE = "application/x-amz-json-1.1"
DATA_PLANE = frozenset({"PutRecord", "PutRecords", "GetRecords", "GetShardIterator"})
# How often an open subscription looks for new records, and the longest it stays silent (real time).
SUBSCRIPTION_POLL = 0.02
SUBSCRIPTION_HEARTBEAT = 1.0


class KinesisServer:
    """A local Kinesis that enforces AWS's limits and injects faults on demand.

    `async with KinesisServer(streams={"orders": 4}) as server:` then point a client at
    `server.endpoint_url`. `server.inject(Fault(...))` schedules a fault; `server.backend`
    is the state, for set-up and assertions between requests. Listens on 127.0.0.1 only.
    """

    def __init__(
        self,
        *,
        streams: Mapping[str, int] | None = None,
        limits: Limits = Limits(),  # noqa: B008 - frozen
        clock: Callable[[], float] = time.time,
        seed: int | None = None,
        port: int = 0,
        region: str = "us-east-1",
        account: str = "123456789012",
    ) -> None:
        self.backend = Backend(clock=clock, limits=limits, region=region, account=account)
        self.faults = Faults(seed)
        for name, shard_count in (streams or {}).items():
            self.backend.create_stream(name, shard_count)
        self._port = port
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()

    @property
    def endpoint_url(self) -> str:
        if self._runner is None:
            raise RuntimeError("the server is not started")
        return f"http://127.0.0.1:{self._port}"

    def inject(self, fault: Fault) -> Fault:
        """Schedule a fault; the returned object's `fired` counts how often it has struck."""
        return self.faults.add(fault)

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port, reuse_address=True)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def close(self) -> None:
        self._closing.set()  # ends open subscriptions, so shutdown does not wait for them
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @staticmethod
    def _error(error: ApiError) -> web.Response:
        return web.Response(
            status=error.status,
            body=orjson.dumps({"__type": error.code, "message": error.message}),
            content_type=CONTENT_TYPE,
            headers={"x-amzn-RequestId": str(uuid.uuid4()), "x-amzn-ErrorType": error.code},
        )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        operation = request.headers.get("X-Amz-Target", "").rpartition(".")[2]
        raw = await request.read()
        try:
            payload = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            payload = None
        if not isinstance(payload, dict):
            return self._error(ApiError("SerializationException", "The request body is not a JSON object."))
        handler = self.backend.operation(operation)
        if handler is None and operation != "SubscribeToShard":
            return self._error(ApiError("UnknownOperationException", f"Operation {operation!r} is not supported."))
        fault = None
        if self.faults.pending:
            stream, shards = self.backend.scope(operation, payload)
            fault = self.faults.take(operation, stream, shards)
        if fault is not None:
            refusal = await self._before(fault, operation)
            if refusal is not None:
                return refusal
        if handler is None:  # SubscribeToShard: an event stream, not one JSON answer
            return await self._subscribe(request, payload)
        try:
            if fault is not None and operation == "PutRecords":
                self.backend.entry_fault = self._entry_fault(fault)
            answer = handler(payload)
        except ApiError as error:
            return self._error(error)
        finally:
            self.backend.entry_fault = None
        body = orjson.dumps(answer)
        if fault is not None and fault.kind in (
            FaultKind.RESET_BEFORE_RESPONSE,
            FaultKind.RESET_MID_RESPONSE,
            FaultKind.TRUNCATED_BODY,
        ):
            return await self._broken(request, body, fault.kind)
        return web.Response(body=body, content_type=CONTENT_TYPE, headers={"x-amzn-RequestId": str(uuid.uuid4())})

    async def _before(self, fault: Fault, operation: str) -> web.Response | None:
        """Faults that answer instead of the handler, or change what it will see."""
        kind = fault.kind
        if kind is FaultKind.THROTTLE and operation != "PutRecords":
            code = "ProvisionedThroughputExceededException" if operation in DATA_PLANE else "LimitExceededException"
            return self._error(ApiError(code, "Rate exceeded (injected fault)."))
        if kind is FaultKind.LIMIT_EXCEEDED:
            return self._error(ApiError("LimitExceededException", "Rate exceeded (injected fault)."))
        if kind is FaultKind.INTERNAL_FAILURE:
            return self._error(ApiError("InternalFailureException", "Internal service failure (injected fault).", 500))
        if kind is FaultKind.SERVICE_UNAVAILABLE:
            return self._error(ApiError("ServiceUnavailable", "Service unavailable (injected fault).", 503))
        if kind is FaultKind.SLOW:
            await asyncio.sleep(fault.delay)
        elif kind is FaultKind.EXPIRED_ITERATOR:
            self.backend.expire_iterators()
        return None

    async def _subscribe(self, request: web.Request, payload: dict[str, Any]) -> web.StreamResponse:
        """Stream SubscribeToShardEvents until the shard ends, the subscription's time is up,
        the client goes away or the server closes."""
        try:
            subscription = self.backend.subscribe(payload)
        except ApiError as error:
            return self._error(error)
        response = web.StreamResponse(
            headers={"Content-Type": "application/vnd.amazon.eventstream", "x-amzn-RequestId": str(uuid.uuid4())}
        )
        await response.prepare(request)
        try:
            await response.write(
                encode(
                    {":message-type": "event", ":event-type": "initial-response", ":content-type": "application/json"},
                    b"{}",
                )
            )
            await self._stream_events(response, subscription)
            await response.write_eof()
        except (ConnectionResetError, ConnectionError):
            pass  # the client closed the subscription
        return response

    async def _stream_events(self, response: web.StreamResponse, subscription: Subscription) -> None:
        loop = asyncio.get_running_loop()
        last_sent = float("-inf")
        while not self._closing.is_set():
            if subscription.has_news or loop.time() - last_sent >= SUBSCRIPTION_HEARTBEAT:
                event, ended = self.backend.next_event(subscription)
                headers = {
                    ":message-type": "event",
                    ":event-type": "SubscribeToShardEvent",
                    ":content-type": "application/json",
                }
                await response.write(encode(headers, orjson.dumps(event)))
                last_sent = loop.time()
                if ended:
                    return
            if self.backend.clock() >= subscription.ends:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), SUBSCRIPTION_POLL)

    def _entry_fault(self, fault: Fault) -> Callable[[Shard], str | None]:
        if fault.kind is FaultKind.THROTTLE:
            code = "ProvisionedThroughputExceededException"
        elif fault.kind is FaultKind.PARTIAL_FAILURE:
            code = fault.error_code
        else:
            return lambda shard: None
        draw = self.faults.random.random

        def fail(shard: Shard) -> str | None:
            if fault.shard is not None and shard.shard_id != fault.shard:
                return None
            return code if draw() < fault.share else None

        return fail

    @staticmethod
    async def _broken(request: web.Request, body: bytes, kind: FaultKind) -> web.StreamResponse:
        """An answer that never arrives whole: the request was processed all the same."""
        transport = request.transport
        assert transport is not None
        if kind is FaultKind.RESET_BEFORE_RESPONSE:
            transport.abort()
            raise asyncio.CancelledError
        response = web.StreamResponse(
            headers={"Content-Type": CONTENT_TYPE, "Content-Length": str(len(body))},
        )
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
        if kind is FaultKind.RESET_MID_RESPONSE:
            transport.abort()
        else:
            transport.close()
        return response


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
