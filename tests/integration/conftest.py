"""Integration fixtures: a client of the session's kinesis-mock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import aiokinesis
from tests.conftest import LOCAL_KEYS


@pytest.fixture
async def kinesis(kinesis_mock_url: str) -> AsyncIterator[aiokinesis.Client]:
    async with aiokinesis.Client(endpoint_url=kinesis_mock_url, **LOCAL_KEYS) as client:
        yield client
