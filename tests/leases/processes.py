"""Processes for tests/leases/test_processes.py: aiokinesis.testing as its own process, lease workers
as subprocesses (tests/leases/worker_process.py), their logs, and the lease table as a KCL worker
would read it (botocore, not our code). Everything on 127.0.0.1; every process stopped by its PID."""

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
from typing import Any

import botocore.session
import orjson

import aiokinesis
from tests.conftest import LOCAL_KEYS

ROOT = Path(__file__).resolve().parents[2]
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
    otherwise spend the test in throttle backoff, and these tests are about leases, not limits."""
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

    def held(self) -> set[str]:
        """The shards this worker holds, by its own log of lease changes."""
        held: set[str] = set()
        for event in self.events("lease"):
            (held.add if event["held"] else held.discard)(event["shard"])
        return held

    def stopped(self) -> bool:
        """Whether the process is stopped (state T in /proc)."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] in {"T", "t"}

    def signal(self, sig: signal.Signals) -> None:
        os.kill(self.process.pid, sig)


@dataclass
class Fleet:
    """The workers of one test, on one stream and one lease table; `close()` stops every one."""

    endpoint: str
    dynamodb: str
    table: str
    stream: str
    folder: Path
    failover: float
    workers: dict[str, Worker] = field(default_factory=dict)
    _reader: Any = None

    def start(self, name: str) -> Worker:
        log = self.folder / f"{name}.jsonl"
        stop_file = self.folder / f"{name}.stop"
        args = [sys.executable, "-m", "tests.leases.worker_process", "--endpoint", self.endpoint]
        args += ["--dynamodb", self.dynamodb, "--table", self.table, "--stream", self.stream]
        args += ["--worker-id", name, "--log", str(log), "--failover", str(self.failover)]
        args += ["--stop-file", str(stop_file)]
        process = subprocess.Popen(args, env=_env(), cwd=ROOT)
        self.workers[name] = Worker(name, process, log, stop_file)
        return self.workers[name]

    def close(self) -> None:
        for worker in self.workers.values():
            stop(worker.process)
        if self._reader is not None:
            self._reader.close()

    def handled(self) -> list[dict[str, Any]]:
        """Every worker's handled records, each with its worker's name under "w"."""
        return [{**event, "w": worker.name} for worker in self.workers.values() for event in worker.events("handled")]

    def values(self) -> set[tuple[str, int]]:
        return {(event["key"], event["n"]) for event in self.handled()}

    def leases(self) -> dict[str, dict[str, Any]]:
        """The lease table, read with botocore as any KCL worker would: leaseKey -> its attributes."""
        if self._reader is None:
            self._reader = botocore.session.get_session().create_client(
                "dynamodb",
                endpoint_url=self.dynamodb,
                region_name=LOCAL_KEYS["region"],
                aws_access_key_id=LOCAL_KEYS["aws_access_key_id"],
                aws_secret_access_key=LOCAL_KEYS["aws_secret_access_key"],
            )
        client = self._reader
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        for _ in range(100):
            try:
                page = client.scan(**kwargs)
            except client.exceptions.ResourceNotFoundException:
                return {}  # the first worker has not made the table yet
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return {item["leaseKey"]["S"]: {name: next(iter(v.values())) for name, v in item.items()} for item in items}

    def owners(self) -> dict[str, str | None]:
        return {key: lease.get("leaseOwner") for key, lease in self.leases().items()}


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
