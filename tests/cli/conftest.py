"""The command line, run for real: `python -m aiokinesis ...` in a subprocess against a local server.

Each run costs a fresh interpreter (about half a second): tests group several checks per run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import pytest

import aiokinesis
from aiokinesis.testing import KinesisServer
from tests.conftest import LOCAL_KEYS

BOUND = 60.0
"""Seconds any one run may take before the test gives up on it (a bound on hangs, not a timing check)."""


def cli_env(**changes: str | None) -> dict[str, str]:
    """The environment of a run: local keys and region, nothing of the developer's AWS set-up."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=LOCAL_KEYS["aws_access_key_id"],
        AWS_SECRET_ACCESS_KEY=LOCAL_KEYS["aws_secret_access_key"],
        AWS_DEFAULT_REGION=LOCAL_KEYS["region"],
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


@contextlib.asynccontextmanager
async def started(
    *args: str, stderr: int | None = asyncio.subprocess.PIPE, env: Mapping[str, str] | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m aiokinesis *args`, stdin and stdout on pipes (stderr too unless told: None inherits
    it), in `env` or cli_env(); stopped on the way out if it is still running."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aiokinesis",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
        env=dict(env) if env is not None else cli_env(),
    )
    try:
        yield process
    finally:
        await stop(process)


async def stop(process: asyncio.subprocess.Process) -> None:
    """Kill the process unless it has exited, and reap it."""
    if process.returncode is None:
        process.kill()
        await process.wait()


async def run_cli(*args: str, stdin: bytes = b"", env: Mapping[str, str] | None = None) -> Run:
    async with started(*args, env=env) as process, asyncio.timeout(BOUND):
        out, err = await process.communicate(stdin)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


async def checkpoint_through(consumer: aiokinesis.StreamConsumer, count: int) -> None:
    """Read `count` records from the consumer, checkpointing every batch (a lease table to show)."""
    read = 0
    async for batch in consumer:
        await batch.checkpoint()
        read += len(batch)
        if read == count:
            return


@pytest.fixture
async def server() -> AsyncIterator[KinesisServer]:
    async with KinesisServer(streams={"orders": 2, "one": 1}) as local:
        yield local


@pytest.fixture
def endpoint(server: KinesisServer) -> list[str]:
    return ["--endpoint-url", server.endpoint_url]


@pytest.fixture
async def kinesis(server: KinesisServer) -> AsyncIterator[aiokinesis.Client]:
    async with aiokinesis.Client(endpoint_url=server.endpoint_url, **LOCAL_KEYS) as client:
        yield client
