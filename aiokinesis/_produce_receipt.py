"""A record's receipt: an awaitable that speaks asyncio's future protocol without being an asyncio Future.

A producer makes one per record, so it is made cheap: no asyncio Future (144 bytes and a
garbage-collected object of its own) and no result object until someone asks for one. Awaiting
it, `asyncio.wait`, `gather`, `wait_for`, `shield` and `add_done_callback` all work, as they do
with any object that has asyncio's `_asyncio_future_blocking` protocol (pure-Python futures).
"""

from __future__ import annotations

import abc
import asyncio
import contextvars
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._produce_model import PutResult

PENDING: Any = object()
"""The value of a receipt not yet resolved."""


class Receipt(abc.ABC):
    """The receipt of one record: `await receipt` gives its PutResult, or raises why it was not put.

    It has the methods of an asyncio Future (done, result, exception, cancelled, cancel,
    add_done_callback, remove_done_callback, get_loop), so asyncio.wait, gather, wait_for and
    shield take it. Cancelling a receipt only stops waiting for it: the record is still put.
    """

    __slots__ = ("_asyncio_future_blocking", "_callbacks", "_loop", "_value")

    _asyncio_future_blocking: bool
    _callbacks: list[tuple[Callable[[Receipt], object], contextvars.Context | None]] | None
    _loop: asyncio.AbstractEventLoop
    _value: Any
    """PENDING, the PutResult (None: made on first read), or the exception (a CancelledError: cancelled)."""

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def done(self) -> bool:
        return self._value is not PENDING

    def cancelled(self) -> bool:
        return isinstance(self._value, asyncio.CancelledError)

    def result(self) -> PutResult:
        """Where the record landed; raises why it was not put, or InvalidStateError while pending."""
        value = self._value
        if value is None:
            value = self._value = self._made()
        elif isinstance(value, BaseException):
            raise value
        elif value is PENDING:
            raise asyncio.InvalidStateError("the record has no result yet")
        result: PutResult = value
        return result

    def exception(self) -> BaseException | None:
        """Why the record was not put (None if it was); raises CancelledError if the receipt was cancelled."""
        value = self._value
        if value is PENDING:
            raise asyncio.InvalidStateError("the record has no result yet")
        if isinstance(value, asyncio.CancelledError):
            raise value
        return value if isinstance(value, BaseException) else None

    def add_done_callback(self, fn: Callable[[Receipt], object], *, context: contextvars.Context | None = None) -> None:
        if self._value is not PENDING:
            self._loop.call_soon(fn, self, context=context)
        elif self._callbacks is None:
            self._callbacks = [(fn, context)]
        else:
            self._callbacks.append((fn, context))

    def remove_done_callback(self, fn: Callable[[Receipt], object]) -> int:
        callbacks = self._callbacks or []
        kept = [(f, c) for f, c in callbacks if f != fn]
        self._callbacks = kept or None
        return len(callbacks) - len(kept)

    def cancel(self, msg: Any | None = None) -> bool:
        """Stop waiting for the result (the record is still put); False if it has one already."""
        if self._value is not PENDING:
            return False
        self._settle(asyncio.CancelledError() if msg is None else asyncio.CancelledError(msg))
        return True

    def __await__(self) -> Generator[Any, None, PutResult]:
        if self._value is PENDING:
            self._asyncio_future_blocking = True
            yield self  # the task waits on it through add_done_callback, as on any future
        return self.result()

    __iter__ = __await__

    def __repr__(self) -> str:
        value = self._value
        state = "pending" if value is PENDING else "cancelled" if self.cancelled() else "done"
        return f"<Receipt {state}>"

    def _settle(self, value: Any) -> None:
        """Resolve, once: the callers check done() first."""
        self._value = value
        callbacks = self._callbacks
        if callbacks is not None:
            self._callbacks = None
            call_soon = self._loop.call_soon
            for fn, context in callbacks:
                call_soon(fn, self, context=context)

    @abc.abstractmethod
    def _made(self) -> PutResult:
        """The result of a record that landed, made on first read."""
