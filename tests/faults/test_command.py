"""`python -m aiokinesis.testing` as another language's test suite runs it: a subprocess on a free
port (--port 0), its URL read from the one ready line on stdout, stopped by PID."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from typing import Any

import boto3
from botocore.config import Config

BOUND = 60.0
"""Seconds a run may take before the test gives up on it (a bound on hangs, not a timing check)."""
READY = re.compile(r"aiokinesis\.testing listening on (http://127\.0\.0\.1:(\d+))\n")


async def command(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aiokinesis.testing",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def list_streams(url: str) -> Any:
    client = boto3.client(
        "kinesis",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIDCMD",
        aws_secret_access_key="cmd-secret",
        config=Config(retries={"total_max_attempts": 1}),
    )
    return client.list_streams()["StreamNames"]


async def test_on_port_0_it_prints_the_url_it_bound_and_serves_until_terminated() -> None:
    process = await command("--host", "127.0.0.1", "--port", "0", "--stream", "orders:2")
    assert process.stdout is not None
    try:
        async with asyncio.timeout(BOUND):
            ready = READY.fullmatch((await process.stdout.readline()).decode())
        assert ready is not None
        assert int(ready.group(2)) != 0
        assert await asyncio.to_thread(list_streams, ready.group(1)) == ["orders"]
        os.kill(process.pid, signal.SIGTERM)
        async with asyncio.timeout(BOUND):
            rest, _ = await process.communicate()
        assert (process.returncode, rest) == (0, b"")  # nothing but the ready line on stdout
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_a_port_in_use_is_one_line_on_stderr_and_exit_code_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await command("--port", str(port))
        async with asyncio.timeout(BOUND):
            out, err = await process.communicate()
    assert (process.returncode, out) == (1, b"")
    assert err.decode().startswith(f"aiokinesis.testing: cannot listen on 127.0.0.1 port {port}: ")


async def test_help_documents_host_port_and_the_ready_line() -> None:
    process = await command("--help")
    async with asyncio.timeout(BOUND):
        out, _ = await process.communicate()
    text = out.decode()
    assert process.returncode == 0
    assert "--host HOST" in text
    assert "0: any free one" in text
    assert "aiokinesis.testing listening on http://HOST:PORT" in text
    bad = await command("--port", "70000")
    async with asyncio.timeout(BOUND):
        _, err = await bad.communicate()
    assert bad.returncode == 2
    assert "expected a port from 0 (any free one) to 65535, not '70000'" in err.decode()
