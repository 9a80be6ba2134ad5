"""Start kinesis-mock (npm `kinesis-local`, pinned in package.json here) on 127.0.0.1.

Used by the integration tests' fixture and, as a command, to run a program against it:
    python tests/kinesis_local/launch.py -- python examples/put_and_read.py
The program gets AIOKINESIS_ENDPOINT_URL and dummy credentials; the server is stopped
by PID when it ends.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = HERE / "node_modules" / "kinesis-local"
ENV_VAR = "AIOKINESIS_ENDPOINT_URL"
# Resource transitions (CREATING -> ACTIVE, resharding...) take 500 ms by default.
DURATIONS = (
    "CREATE_STREAM_DURATION",
    "DELETE_STREAM_DURATION",
    "REGISTER_STREAM_CONSUMER_DURATION",
    "DEREGISTER_STREAM_CONSUMER_DURATION",
    "START_STREAM_ENCRYPTION_DURATION",
    "STOP_STREAM_ENCRYPTION_DURATION",
    "MERGE_SHARDS_DURATION",
    "SPLIT_SHARD_DURATION",
    "UPDATE_SHARD_COUNT_DURATION",
    "UPDATE_STREAM_MODE_DURATION",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"kinesis-mock exited with {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"kinesis-mock did not listen on 127.0.0.1:{port} in time")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL: after serving a subscription it may ignore SIGTERM."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextlib.contextmanager
def kinesis_mock(duration: str = "20ms", startup_timeout: float = 60.0) -> Iterator[str]:
    """Run kinesis-mock for the duration of the block; yields its http://127.0.0.1:PORT URL."""
    node = shutil.which("node")
    if node is None or not (PACKAGE / "main.js").exists():
        raise RuntimeError(f"kinesis-mock needs node and `npm ci` in {HERE} (the test script does both)")
    port = _free_port()
    env = {
        **os.environ,
        "KINESIS_MOCK_PLAIN_PORT": str(port),
        "KINESIS_MOCK_TLS_PORT": str(_free_port()),
        "LOG_LEVEL": "WARN",
        "AWS_REGION": "us-east-1",
        "AWS_ACCOUNT_ID": "000000000000",
        "SHARD_LIMIT": "1000",
        **dict.fromkeys(DURATIONS, duration),
    }
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([node, "main.js"], cwd=PACKAGE, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_for_port(port, process, time.monotonic() + startup_timeout)
            yield f"http://127.0.0.1:{port}"
        except RuntimeError:
            log.seek(0)
            sys.stderr.write(log.read()[-4000:].decode(errors="replace"))
            raise
        finally:
            _stop(process)


def main() -> int:
    parser = argparse.ArgumentParser(description="Run a command against a local kinesis-mock.")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command after --")
    with kinesis_mock() as url:
        print(f"kinesis-mock listening at {url}", file=sys.stderr)
        # kinesis-mock checks no signature: dummy keys keep real ones from being sent to it.
        local = {
            ENV_VAR: url,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_REGION": "us-east-1",
        }
        env = {k: v for k, v in os.environ.items() if k not in ("AWS_SESSION_TOKEN", "AWS_PROFILE")}
        return subprocess.call(command, env={**env, **local})


if __name__ == "__main__":
    sys.exit(main())
