"""Conformance: every test runs against kinesis-mock and against aiokinesis.testing.

Where the two differ because kinesis-mock differs from AWS, the test says so for that
server only (`server` is "kinesis-mock" or "aiokinesis.testing").
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import aiokinesis
from aiokinesis.testing import KinesisServer
from tests.conftest import LOCAL_KEYS

SERVERS = ["kinesis-mock", "aiokinesis.testing"]


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
async def endpoint(server: str, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    if server == "kinesis-mock":
        yield request.getfixturevalue("kinesis_mock_url")
        return
    async with KinesisServer() as local:
        yield local.endpoint_url
    # AWS's limits hold against both servers, though only ours enforces them: a test that outruns
    # them is throttled now and then, and passes only by the luck of the client's retries.
    assert local.backend.throttled == 0, "the test outran a shard's limits: read through the reader, or pace"


@pytest.fixture
async def kinesis(endpoint: str) -> AsyncIterator[aiokinesis.Client]:
    async with aiokinesis.Client(endpoint_url=endpoint, **LOCAL_KEYS) as client:
        yield client
