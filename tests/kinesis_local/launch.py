"""Start kinesis-mock (npm `kinesis-local`, pinned in package.json here) on 127.0.0.1.

Used by the integration tests' fixture and, as a command, to run a program against it:
    python -m tests.kinesis_local.launch -- python examples/put_and_read.py
The program gets AIOKINESIS_ENDPOINT_URL and dummy credentials; the server is stopped
by PID when it ends.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.local_server import free_port, listens, run_against, serve

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


# The self-signed certificate of its TLS port (CN "Unknown", no subjectAltName), in server.json.
CERTIFICATE = PACKAGE / "server.json"


@contextlib.contextmanager
def kinesis_mock(duration: str = "20ms", startup_timeout: float = 60.0) -> Iterator[str]:
    """Run kinesis-mock for the duration of the block; yields its http://127.0.0.1:PORT URL."""
    with kinesis_mock_endpoints(duration, startup_timeout) as (url, _):
        yield url


@contextlib.contextmanager
def kinesis_mock_endpoints(duration: str = "20ms", startup_timeout: float = 60.0) -> Iterator[tuple[str, str]]:
    """Run kinesis-mock for the duration of the block; yields its plain URL (HTTP/1.1 and h2c) and
    its TLS one (https://127.0.0.1:PORT, ALPN h2, the self-signed CERTIFICATE)."""
    node = shutil.which("node")
    if node is None or not (PACKAGE / "main.js").exists():
        raise RuntimeError(f"kinesis-mock needs node and `npm ci` in {HERE} (the test script does both)")
    port, tls_port = free_port(), free_port()
    env = {
        **os.environ,
        "KINESIS_MOCK_PLAIN_PORT": str(port),
        "KINESIS_MOCK_TLS_PORT": str(tls_port),
        "LOG_LEVEL": "WARN",
        "AWS_REGION": "us-east-1",
        "AWS_ACCOUNT_ID": "000000000000",
        "SHARD_LIMIT": "1000",
        **dict.fromkeys(DURATIONS, duration),
    }

    # SIGKILL after 3 s: after serving a subscription it may ignore SIGTERM.
    def ready(port: int) -> bool:
        return listens(port) and listens(tls_port)

    with serve("kinesis-mock", [node, "main.js"], port=port, ready=ready, cwd=PACKAGE, env=env, grace=3.0) as url:
        yield url, f"https://127.0.0.1:{tls_port}"


def main() -> int:
    return run_against("kinesis-mock", kinesis_mock, ENV_VAR, "Run a command against a local kinesis-mock.")


if __name__ == "__main__":
    sys.exit(main())
