"""Integration fixtures: one kinesis-mock per test session, a fresh client and stream per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

import aiokinesis
from tests.kinesis_local.launch import kinesis_mock


@pytest.fixture(scope="session")
def endpoint_url() -> Iterator[str]:
    with kinesis_mock() as url:
        yield url


@pytest.fixture
async def kinesis(endpoint_url: str) -> AsyncIterator[aiokinesis.Client]:
    async with aiokinesis.Client(
        endpoint_url=endpoint_url,
        region="us-east-1",
        aws_access_key_id="AKIDLOCAL",
        aws_secret_access_key="local-secret",
    ) as client:
        yield client


@pytest.fixture
def stream_name() -> str:
    """A new name per test: kinesis-mock slows down as a stream fills, so nothing is shared."""
    return f"test-{uuid.uuid4().hex[:12]}"


async def create_active_stream(kinesis: aiokinesis.Client, name: str, shards: int = 1) -> str:
    """Create a stream, wait until ACTIVE, return its ARN."""
    await kinesis.create_stream(stream_name=name, shard_count=shards)
    summary = await kinesis.wait.stream_exists(stream_name=name, delay=0.05, max_wait=30)
    return summary.stream_arn
