"""Worker processes for the multi-process tests (tests/leases, tests/queues): aiokinesis.testing in
its own process, workers as subprocesses writing JSON-line logs, a producer feeding them, and the
wait that polls for a condition. Everything on 127.0.0.1; every process stopped by its PID.

A worker program takes `--log PATH` (one JSON object a line: "e" the event, "t" time.time(),
flushed per line so a kill -9 loses nothing written) and `--stop-file PATH` (once that file
exists, the worker stops itself, SIGSTOP, at the moment its test cares about).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

import orjson

import aiokinesis

ROOT = Path(__file__).resolve().parents[1]
GRACE = 5.0
"""Seconds a process gets to end after SIGTERM before it is killed (teardown)."""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGCONT (a stopped process cannot end), SIGTERM, then SIGKILL after GRACE: by PID."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGCONT)
        os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(GRACE)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        process.wait(GRACE)


@contextlib.contextmanager
def kinesis_process(streams: dict[str, int]) -> Iterator[str]:
    """`python -m aiokinesis.testing --port 0` with these streams; yields its endpoint URL.

    Without AWS's per-shard limits: a dozen readers polling at once on a two-core machine would
    otherwise spend the test in throttle backoff, and these tests are not about limits."""
    args = [sys.executable, "-m", "aiokinesis.testing", "--port", "0", "--no-limits"]
    for name, shards in streams.items():
        args += ["--stream", f"{name}:{shards}"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, env=_env(), cwd=ROOT)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()  # the server prints its URL once it listens
        if "listening on " not in line:
            raise RuntimeError(f"aiokinesis.testing did not start: {line!r}, exit {process.poll()}")
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        stop(process)
        if process.stdout is not None:
            process.stdout.close()


class JsonLog:
    """A worker's side of its log: one JSON line per event, flushed at once."""

    def __init__(self, path: str) -> None:
        self._file: IO[bytes] = open(path, "ab")  # noqa: SIM115 - open for the process's life

    def write(self, event: str, **fields: Any) -> None:
        self._file.write(orjson.dumps({"e": event, "t": time.time(), **fields}) + b"\n")
        self._file.flush()


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    stop_file: Path

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        lines = self.log.read_bytes().splitlines()
        found = [orjson.loads(line) for line in lines if line.endswith(b"}")]  # a torn last line waits
        return [event for event in found if kind is None or event["e"] == kind]

    def stopped(self) -> bool:
        """Whether the process is stopped (state T in /proc)."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] in {"T", "t"}

    def signal(self, sig: signal.Signals) -> None:
        os.kill(self.process.pid, sig)


@dataclass(kw_only=True)
class Fleet:
    """The worker processes of one test, each `python -m PROGRAM`; `close()` stops every one."""

    PROGRAM: ClassVar[str]
    folder: Path
    workers: dict[str, Worker] = field(default_factory=dict)

    def spawn(self, name: str, args: list[str]) -> Worker:
        """Start worker `name` with these arguments, and its --log and --stop-file in the folder."""
        log = self.folder / f"{name}.jsonl"
        stop_file = self.folder / f"{name}.stop"
        command = [sys.executable, "-m", self.PROGRAM, *args, "--log", str(log), "--stop-file", str(stop_file)]
        process = subprocess.Popen(command, env=_env(), cwd=ROOT)
        self.workers[name] = Worker(name, process, log, stop_file)
        return self.workers[name]

    def close(self) -> None:
        for worker in self.workers.values():
            stop(worker.process)

    def handled(self) -> list[dict[str, Any]]:
        """Every worker's handled records, each with its worker's name under "w"."""
        return [{**event, "w": worker.name} for worker in self.workers.values() for event in worker.events("handled")]


async def until(done: Callable[[], bool], *, within: float, what: str) -> float:
    """Poll `done` every 0.1 s for at most `within` seconds; the seconds it took (fails past it)."""
    began = time.monotonic()
    while not done():
        if time.monotonic() - began > within:
            raise AssertionError(f"not within {within:.0f} s: {what}")
        await asyncio.sleep(0.1)
    return time.monotonic() - began


class Producer:
    """Puts records whose data is {"k": key, "n": that key's counter}, keys spread over the shards."""

    def __init__(self, client: aiokinesis.Client, stream: str, keys: int) -> None:
        self.client = client
        self.stream = stream
        self.keys = [f"key-{n}" for n in range(keys)]
        self.counters = dict.fromkeys(self.keys, 0)
        self.sent: set[tuple[str, int]] = set()
        self.turn = 0

    async def put(self, count: int, *, per_call: int = 100, pause: float = 0.02) -> None:
        """`count` records, `per_call` a call, round robin over the keys; each key's in order."""
        for begin in range(0, count, per_call):
            entries = []
            for _ in range(min(per_call, count - begin)):
                key = self.keys[self.turn % len(self.keys)]
                self.turn += 1
                entries.append((key, self.counters[key]))
                self.counters[key] += 1
            answer = await self.client.put_records(
                stream_name=self.stream,
                records=[
                    aiokinesis.PutRecordsRequestEntry(data=orjson.dumps({"k": k, "n": n}), partition_key=k)
                    for k, n in entries
                ],
            )
            assert not answer.failed_record_count, answer  # no limits: a refused entry would reorder its key
            self.sent.update(entries)
            await asyncio.sleep(pause)
