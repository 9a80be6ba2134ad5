"""Fixtures of the fault suites: a fake clock, and a limit-free server with a client that does not retry.

Modules that need a server on the fake clock define their own `server`; `kinesis` follows it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import aiokinesis
from aiokinesis.testing import KinesisServer, Limits
from tests.conftest import LOCAL_KEYS
from tests.fakes import FakeTime


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def server() -> AsyncIterator[KinesisServer]:
    async with KinesisServer(streams={"s": 4}, limits=Limits(enabled=False), seed=5) as local:
        yield local


@pytest.fixture
async def kinesis(server: KinesisServer) -> AsyncIterator[aiokinesis.Client]:
    # No client-side retries: the reader's and producer's own retrying is what is under test.
    async with aiokinesis.Client(
        endpoint_url=server.endpoint_url, retry=aiokinesis.RetryConfig(max_attempts=1), **LOCAL_KEYS
    ) as client:
        yield client
