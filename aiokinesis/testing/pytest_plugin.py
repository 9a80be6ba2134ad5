"""The pytest plugin installed with aiokinesis: a `kinesis_server` fixture for your tests.

The server runs on its own event loop in a background thread, so the fixture serves sync
and async tests alike and needs no async plugin. Configure it by overriding
`kinesis_server_options`:

    @pytest.fixture
    def kinesis_server_options():
        return {"streams": {"orders": 4}, "seed": 1}
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ._server import KinesisServer, serve_in_thread


@pytest.fixture
def kinesis_server_options() -> dict[str, Any]:
    """Keyword arguments of KinesisServer for `kinesis_server` (streams, limits, seed, clock...)."""
    return {}


@pytest.fixture
def kinesis_server(kinesis_server_options: dict[str, Any]) -> Iterator[KinesisServer]:
    """A fresh local Kinesis on 127.0.0.1 for one test; `kinesis_server.endpoint_url` to connect."""
    with serve_in_thread(**kinesis_server_options) as server:
        yield server
