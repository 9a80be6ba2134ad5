"""What only kinesis-mock does: the operations both servers serve are in tests/conformance."""

from __future__ import annotations

import pytest

import aiokinesis

pytestmark = pytest.mark.integration


async def test_unsupported_operations_are_refused(kinesis: aiokinesis.Client) -> None:
    # kinesis-mock answers operations it lacks (Channels, Queues, ...) with AccessDenied.
    with pytest.raises(aiokinesis.AccessDeniedException):
        await kinesis.list_queues()
