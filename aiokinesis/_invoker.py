"""The narrow seam the layers above the client send through: one operation, retried, parsed.

The reader and producer use it on their hot paths with wire-ready bodies and their own parsers
(no typed request or result objects); everything else goes through the typed operations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from ._protocol import OperationSpec

T = TypeVar("T")


class Invoker(Protocol):
    """Sends one operation with the client's signing, endpoints and retries; raises KinesisError subclasses."""

    async def invoke(self, spec: OperationSpec, body: dict[str, Any], parse: Callable[[dict[str, Any]], T]) -> T: ...


class BodyStream(Protocol):
    """A streamed answer's body, over HTTP/1.1 or HTTP/2, read chunk by chunk.

    Reading is what lets more arrive (TCP, or the HTTP/2 flow-control window), so a reader that
    stops reading stops the sender: no body is buffered without bound."""

    request_id: str | None

    async def read_chunk(self) -> bytes:
        """The next bytes to arrive; empty at the end of the body."""
        ...

    @property
    def closed(self) -> bool: ...

    def close(self) -> None:
        """Drop the stream (and with HTTP/1.1 its connection); idempotent."""
        ...


class StreamOpener(Protocol):
    """Sends an operation whose answer is a stream (SubscribeToShard); retries cover opening it only,
    and only with `retries=True`: a caller with its own backoff and pacing passes False."""

    async def open_stream(self, spec: OperationSpec, body: dict[str, Any], *, retries: bool = True) -> BodyStream: ...
