"""Fixtures every suite shares: kinesis-mock and DynamoDB Local (each started once per run, by the
first test that needs it) and fresh stream names."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import aiokinesis
from tests.dynamodb_local.launch import dynamodb_local
from tests.kinesis_local.launch import kinesis_mock_endpoints

LOCAL_KEYS: dict[str, Any] = {
    "region": "us-east-1",
    "aws_access_key_id": "AKIDLOCAL",
    "aws_secret_access_key": "local-secret",
}


@pytest.fixture(scope="session")
def kinesis_mock_endpoints_() -> Iterator[tuple[str, str]]:
    """One kinesis-mock for the run: its plain URL and its TLS one."""
    with kinesis_mock_endpoints() as urls:
        yield urls


@pytest.fixture(scope="session")
def kinesis_mock_url(kinesis_mock_endpoints_: tuple[str, str]) -> str:
    return kinesis_mock_endpoints_[0]


@pytest.fixture(scope="session")
def kinesis_mock_tls_url(kinesis_mock_endpoints_: tuple[str, str]) -> str:
    """https://127.0.0.1:PORT: TLS with kinesis-mock's self-signed certificate, ALPN h2."""
    return kinesis_mock_endpoints_[1]


@pytest.fixture(scope="session")
def dynamodb_local_url() -> Iterator[str]:
    """DynamoDB Local in memory on a free port (Java on PATH: fails, clearly, without it)."""
    with dynamodb_local() as url:
        yield url


@pytest.fixture
def stream_name() -> str:
    """A new name per test: kinesis-mock slows down as a stream fills, so nothing is shared."""
    return f"test-{uuid.uuid4().hex[:12]}"


async def create_active_stream(kinesis: aiokinesis.Client, name: str, shards: int = 1) -> str:
    """Create a stream, wait until ACTIVE, return its ARN."""
    await kinesis.create_stream(stream_name=name, shard_count=shards)
    summary = await kinesis.wait.stream_exists(stream_name=name, delay=0.05, max_wait=30)
    return summary.stream_arn
