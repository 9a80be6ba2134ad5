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
