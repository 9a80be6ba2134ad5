"""Fixtures of the lease suites: virtual time on both sides of the wire, and a local server on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import aiokinesis
from aiokinesis.testing import KinesisServer, Limits
from tests.conftest import LOCAL_KEYS
from tests.fakes import VirtualTime


@pytest.fixture
def time() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
async def server(time: VirtualTime) -> AsyncIterator[KinesisServer]:
    async with KinesisServer(streams={"s": 4, "wide": 12}, limits=Limits(enabled=False), clock=time.clock) as local:
        yield local


@pytest.fixture
async def kinesis(server: KinesisServer, time: VirtualTime) -> AsyncIterator[aiokinesis.Client]:
    async with aiokinesis.Client(
        endpoint_url=server.endpoint_url,
        retry=aiokinesis.RetryConfig(max_attempts=1),
        clock=time.clock,
        sleep=time.sleep,
        **LOCAL_KEYS,
    ) as client:
        yield client
