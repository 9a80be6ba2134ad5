"""Unit fixtures: a client whose HTTP goes to aioresponses, with injected clock, sleep and randomness."""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import ClientResponse
from aioresponses import aioresponses
from aioresponses.core import RequestMatch

import aiokinesis
from tests.fakes import FakeTime

ANY_URL = re.compile(r"^https?://.*$")


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


class _Aiohttp314Response(ClientResponse):
    """aioresponses 0.7.9 does not pass aiohttp 3.14's new required `stream_writer`
    (pnuckowski/aioresponses#289, open); a finished upload's writer is only asked its size."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(*args, **kwargs)


# Older aiohttp (down to the declared floor) takes no `stream_writer`: aioresponses' own class works.
_NEEDS_STREAM_WRITER = "stream_writer" in inspect.signature(ClientResponse.__init__).parameters


@pytest.fixture
def http(monkeypatch: pytest.MonkeyPatch) -> Iterator[aioresponses]:
    build = RequestMatch._build_response

    def build_compatible(self: RequestMatch, *args: Any, **kwargs: Any) -> ClientResponse:
        kwargs["response_class"] = kwargs.get("response_class") or _Aiohttp314Response
        return build(self, *args, **kwargs)

    if _NEEDS_STREAM_WRITER:
        monkeypatch.setattr(RequestMatch, "_build_response", build_compatible)
    with aioresponses() as mocked:
        yield mocked


def make_client(fake_time: FakeTime, **kwargs: object) -> aiokinesis.Client:
    options: dict[str, object] = {
        "region": "us-east-1",
        "aws_access_key_id": "AKIDEXAMPLE",
        "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "clock": fake_time.clock,
        "sleep": fake_time.sleep,
        "rand": lambda: 1.0,
        # aioresponses stands in for aiohttp only: streamed calls must not try HTTP/2 for real.
        "http": aiokinesis.HttpConfig(http2=False),
    }
    options.update(kwargs)
    return aiokinesis.Client(**options)  # type: ignore[arg-type]


@pytest.fixture
async def kinesis(fake_time: FakeTime, http: aioresponses) -> AsyncIterator[aiokinesis.Client]:
    async with make_client(fake_time) as client:
        yield client
