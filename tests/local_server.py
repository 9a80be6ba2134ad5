"""What every local server the tests start shares: a free port, start and wait, stop by PID, and
running a program against it. kinesis-mock and DynamoDB Local differ only in command and readiness."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def listens(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def stop(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM by PID, then SIGKILL after `grace` seconds (a server may ignore SIGTERM)."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextlib.contextmanager
def serve(
    name: str,
    command: list[str],
    *,
    port: int,
    ready: Callable[[int], bool],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    startup_timeout: float = 60.0,
    grace: float = 3.0,
) -> Iterator[str]:
    """Run `command` for the duration of the block once `ready(port)`; yields http://127.0.0.1:PORT.

    Its output goes to a temporary file, shown (the last 4 KB) only if it fails to start."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + startup_timeout
            while not ready(port):
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode} before it was ready")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} was not ready on 127.0.0.1:{port} in {startup_timeout:g} s")
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        except RuntimeError:
            log.seek(0)
            sys.stderr.write(log.read()[-4000:].decode(errors="replace"))
            raise
        finally:
            stop(process, grace)


def run_against(
    name: str, server: Callable[[], contextlib.AbstractContextManager[str]], env_var: str, description: str
) -> int:
    """The launchers' command line: start the server, run the command after `--` against it."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command after --")
    with server() as url:
        print(f"{name} listening at {url}", file=sys.stderr)
        # Local servers check no signature: dummy keys keep real ones from being sent to them.
        local = {
            env_var: url,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_REGION": "us-east-1",
        }
        env = {k: v for k, v in os.environ.items() if k not in ("AWS_SESSION_TOKEN", "AWS_PROFILE")}
        return subprocess.call(command, env={**env, **local})
