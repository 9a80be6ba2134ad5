"""One request, whichever HTTP version carried it: the operation, its faults, and what to answer.

Both transports (aiohttp for HTTP/1.1, _h2serve for HTTP/2) hand the X-Amz-Target and the raw
body here and act on what comes back: a JSON answer (maybe to be broken by a fault on the way
out), an opened subscription to stream, or a GOAWAY (HTTP/2 only).

A queue receive long-polls here: its handler runs again every QUEUE_POLL of real time until a
record is visible, or WaitTimeSeconds have passed on the backend's clock, or as many of real
time (so a test on a fake clock that does not move is not held longer than AWS would hold it),
or the server closes, or its client leaves (hangs up over HTTP/1.1; resets the stream or loses
the connection over HTTP/2).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from ._backend import Backend, signed_region
from ._faults import SUBSCRIPTION_FAULTS, Fault, FaultKind, Faults
from ._queues import QUEUE_DATA, RECEIVES, QueueFault
from ._state import ApiError, Json, Shard, Subscription

CONTENT_TYPE = "application/x-amz-json-1.1"
EVENT_STREAM_TYPE = "application/vnd.amazon.eventstream"
DATA_PLANE = frozenset({"PutRecord", "PutRecords", "GetRecords", "GetShardIterator"})
BROKEN = frozenset({FaultKind.RESET_BEFORE_RESPONSE, FaultKind.RESET_MID_RESPONSE, FaultKind.TRUNCATED_BODY})
"""Faults that break a JSON answer on the wire (the request was processed all the same)."""
QUEUE_ONLY = frozenset({FaultKind.DUPLICATE_DELIVERY, FaultKind.EXPIRED_RECEIPT_HANDLE})
"""Faults that only a queue request can strike: on any other they stay pending."""
QUEUE_POLL = 0.01
"""Real seconds between a long-polling receive's looks at its queue."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A JSON answer: status, body and headers (lower-case names); `broken` says how to break it."""

    status: int
    body: bytes
    headers: dict[str, str]
    broken: FaultKind | None = None


@dataclass(frozen=True, slots=True)
class Subscribed:
    """SubscribeToShard accepted: stream its events (with `fault`, if one struck it)."""

    subscription: Subscription
    fault: Fault | None
    request_id: str


@dataclass(frozen=True, slots=True)
class GoAway:
    """The GOAWAY fault: the request is not served; the connection goes away."""

    fault: Fault


Outcome = Answer | Subscribed | GoAway


def error_answer(error: ApiError) -> Answer:
    return Answer(
        status=error.status,
        body=orjson.dumps({"__type": error.code, "message": error.message}),
        headers={
            "content-type": CONTENT_TYPE,
            "x-amzn-requestid": str(uuid.uuid4()),
            "x-amzn-errortype": error.code,
        },
    )


class Dispatcher:
    """Runs operations on the backend, with the faults they match."""

    def __init__(self, backend: Backend, faults: Faults, closing: asyncio.Event | None = None) -> None:
        self.backend = backend
        self.faults = faults
        self.closing = closing or asyncio.Event()
        """Set when the server closes: long polls end at once."""

    async def handle(
        self,
        target: str,
        raw: bytes,
        *,
        http2: bool,
        authorization: str | None = None,
        gone: Callable[[], bool] | None = None,
    ) -> Outcome:
        """Serve one request in the region its SigV4 Authorization header was signed for; `gone`
        tells whether its client has left (a long poll then stops taking records)."""
        operation = target.rpartition(".")[2]
        region = signed_region(authorization)
        try:
            payload = orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            payload = None
        if not isinstance(payload, dict):
            return error_answer(ApiError("SerializationException", "The request body is not a JSON object."))
        handler = self.backend.operation(operation)
        if handler is None and operation != "SubscribeToShard":
            return error_answer(ApiError("UnknownOperationException", f"Operation {operation!r} is not supported."))
        fault = None
        if self.faults.pending:
            with self.backend.in_region(region):
                stream, shards = self.backend.scope(operation, payload)
            fault = self.faults.take(operation, stream, shards, http2=http2)
        if fault is not None:
            if fault.kind is FaultKind.GOAWAY:
                return GoAway(fault)
            refusal = await self._before(fault, operation)
            if refusal is not None:
                return error_answer(refusal)
        if handler is None:  # SubscribeToShard: an event stream, not one JSON answer
            try:
                with self.backend.in_region(region):
                    subscription = self.backend.subscribe(payload)
            except ApiError as error:
                if fault is not None and fault.kind in SUBSCRIPTION_FAULTS:
                    fault.fired -= 1  # it strikes an open subscription: this one never opened
                return error_answer(error)
            return Subscribed(subscription, fault, str(uuid.uuid4()))
        queue_fault = None
        if fault is not None and (
            fault.kind in QUEUE_ONLY or (fault.kind is FaultKind.PARTIAL_FAILURE and operation in QUEUE_DATA)
        ):
            queue_fault = QueueFault(fault, self.faults.random.random)
        checked = handler

        def run() -> Json:
            """One synchronous pass of the handler, with this request's faults set around it only."""
            try:
                if fault is not None and operation == "PutRecords":
                    self.backend.entry_fault = self._entry_fault(fault)
                self.backend.queue_fault = queue_fault
                with self.backend.in_region(region):
                    return checked(payload)
            finally:
                self.backend.entry_fault = None
                self.backend.queue_fault = None

        try:
            answer = await self._long_poll(run, payload, gone) if operation in RECEIVES else run()
        except ApiError as error:
            return error_answer(error)
        finally:
            if queue_fault is not None:
                queue_fault.settle()
        return Answer(
            status=200,
            body=orjson.dumps(answer),
            headers={"content-type": CONTENT_TYPE, "x-amzn-requestid": str(uuid.uuid4())},
            broken=fault.kind if fault is not None and fault.kind in BROKEN else None,
        )

    async def _before(self, fault: Fault, operation: str) -> ApiError | None:
        """Faults that answer instead of the handler, or change what it will see."""
        kind = fault.kind
        if kind is FaultKind.THROTTLE and operation != "PutRecords":
            code = "ProvisionedThroughputExceededException" if operation in DATA_PLANE else "LimitExceededException"
            if operation in QUEUE_DATA:
                code = "ThrottlingException"
            return ApiError(code, "Rate exceeded (injected fault).")
        if kind is FaultKind.LIMIT_EXCEEDED:
            return ApiError("LimitExceededException", "Rate exceeded (injected fault).")
        if kind is FaultKind.INTERNAL_FAILURE:
            return ApiError("InternalFailureException", "Internal service failure (injected fault).", 500)
        if kind is FaultKind.SERVICE_UNAVAILABLE:
            return ApiError("ServiceUnavailable", "Service unavailable (injected fault).", 503)
        if kind is FaultKind.RESOURCE_IN_USE:
            return ApiError("ResourceInUseException", "Another active subscription exists (injected fault).")
        if kind is FaultKind.RESOURCE_NOT_FOUND:
            return ApiError("ResourceNotFoundException", "Resource not found (injected fault).")
        if kind is FaultKind.SLOW:
            await asyncio.sleep(fault.delay)
        elif kind is FaultKind.EXPIRED_ITERATOR:
            self.backend.expire_iterators()
        return None

    async def _long_poll(self, run: Callable[[], Json], payload: Json, gone: Callable[[], bool] | None) -> Json:
        """A receive's answer: at once if a record is visible, else when one is or the wait ends.

        A poll whose client hung up stops looking: records it took would reach no one and stay
        invisible for their visibility timeout (a consumer that closes cancels its polls, then
        releases what it held: a poll still running would take those again)."""
        answer = run()  # checks the request (WaitTimeSeconds 1-20) before any wait
        wait = payload.get("WaitTimeSeconds", 9)
        deadline = self.backend.clock() + wait
        loop = asyncio.get_running_loop()
        real_deadline = loop.time() + wait
        self.backend.receives_waiting += 1
        try:
            while not answer["QueueRecords"] and not self.closing.is_set():
                if self.backend.clock() >= deadline or loop.time() >= real_deadline:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.closing.wait(), QUEUE_POLL)
                if gone is not None and gone():
                    break
                answer = run()
        finally:
            self.backend.receives_waiting -= 1
        return answer

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
