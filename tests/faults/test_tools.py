"""The ways users start the server: the pytest fixture and `python -m aiokinesis.testing`."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from typing import Any

import pytest

import aiokinesis
from aiokinesis.testing import Fault, FaultKind, KinesisServer
from tests.conftest import LOCAL_KEYS as KEYS
from tests.faults.h2client import H2Client


@pytest.fixture
def kinesis_server_options() -> dict[str, Any]:
    return {"streams": {"orders": 3}, "seed": 3}


async def test_the_plugin_fixture_serves_a_configured_server(kinesis_server: KinesisServer) -> None:
    kinesis_server.inject(Fault(kind=FaultKind.THROTTLE, operation="DescribeStreamSummary"))
    async with aiokinesis.Client(endpoint_url=kinesis_server.endpoint_url, **KEYS) as kinesis:
        summary = (await kinesis.describe_stream_summary(stream_name="orders")).stream_description_summary
    assert summary.open_shard_count == 3


def test_the_fixture_serves_sync_tests_too(kinesis_server: KinesisServer) -> None:
    import urllib.request

    request = urllib.request.Request(
        kinesis_server.endpoint_url + "/",
        data=b'{"StreamName": "orders"}',
        headers={
            "X-Amz-Target": "Kinesis_20131202.DescribeStreamSummary",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert b'"OpenShardCount":3' in response.read()


def test_the_command_serves_until_terminated() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "aiokinesis.testing", "--port", str(port), "--stream", "orders:2", "--no-limits"]
    command += ["--max-concurrent-streams", "7"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            assert f"listening on http://127.0.0.1:{port}" in process.stdout.readline()
            assert asyncio.run(open_shards(port)) == 2
            assert asyncio.run(advertised_streams(port)) == 7
        finally:
            os.kill(process.pid, signal.SIGTERM)
            assert process.wait(timeout=10) == 0


async def open_shards(port: int) -> int:
    async with aiokinesis.Client(endpoint_url=f"http://127.0.0.1:{port}", **KEYS) as kinesis:
        summary = (await kinesis.describe_stream_summary(stream_name="orders")).stream_description_summary
    return summary.open_shard_count


async def advertised_streams(port: int) -> int:
    async with await H2Client.connect(f"http://127.0.0.1:{port}") as client:
        return client.conn.remote_settings.max_concurrent_streams


async def test_without_h2_the_server_serves_http_1_1_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "h2", None)  # as if h2 were not installed
    monkeypatch.setitem(sys.modules, "aiokinesis.testing._h2serve", None)
    async with KinesisServer(streams={"orders": 1}) as server:
        assert not server.http2
        async with aiokinesis.Client(endpoint_url=server.endpoint_url, **KEYS) as kinesis:
            summary = (await kinesis.describe_stream_summary(stream_name="orders")).stream_description_summary
        assert summary.open_shard_count == 1
