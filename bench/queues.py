"""Queue consumers: messages per second per core for a no-op handler, and API calls per 1,000 messages.

    .venv/bin/python bench/queues.py [--messages 20000] [--repeat 5] [--concurrency 16]

aiokinesis.testing (limits off) runs in its own process on 127.0.0.1, holding `--messages` records
of 100 bytes on an on-demand stream. Each case reads all of them through a new queue on that stream
(TRIM_HORIZON, deleted afterwards) with a fresh client, so the CPU measured is this process's alone
(the client, the event loop, the sockets), from just after the consumer opens until every message
is acknowledged (the worker: until it has closed, its last acknowledgements sent):

- worker: `queue.run(no-op, concurrency=C)` with the default QueueConfig (receivers sized by the
  cap on held messages, concurrency + 10; acknowledgements batched ten a call, a partial batch
  after a 50 ms linger), and again with that cap at 100: a message holds its place under the cap
  until its acknowledgement is confirmed, so with a handler this fast the cap sets the pace;
- naive: the loop most users would write first: ReceiveQueueRecords of 10, then one
  AcknowledgeQueueRecords per message, one task;
- hand-batched: the same loop acknowledging each receive's records in one call: a floor, the
  calls alone with nothing else around them.

API calls are counted by a MetricsSink on the client (`api_call`, one per call as its caller saw
it), each operation apart; failed attempts a call retried are counted too (none without faults).
Closing the worker cancels its receives still long-polling an empty queue (at most one per
receiver), which are never reported: add `receivers` calls per run to its receives if you count
what AWS would bill. Cases are interleaved, every repetition running each once, so a shared
machine's noise falls on all alike; figures are medians with min-max.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiokinesis
from aiokinesis.metrics import NoMetrics
from aiokinesis.queues import QueueMessage

KEYS: dict[str, Any] = {"region": "us-east-1", "aws_access_key_id": "a", "aws_secret_access_key": "b"}
STREAM = "queue-bench"
OPERATIONS = ("ReceiveQueueRecords", "AcknowledgeQueueRecords", "UpdateQueueRecordsVisibility")


class Calls(NoMetrics):
    """API calls by operation, and failed attempts that were retried."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.retried: Counter[str] = Counter()

    def api_call(self, operation: str, stream: str | None, seconds: float, error: str | None) -> None:
        self.calls[operation] += 1

    def api_attempt_failed(
        self, operation: str, stream: str | None, error: str, *, throttled: bool, retried: bool
    ) -> None:
        if retried:
            self.retried[operation] += 1


@dataclass
class Outcome:
    cpu: float
    wall: float
    calls: Counter[str]


async def new_queue(kinesis: aiokinesis.Client, name: str) -> str:
    summary = await kinesis.describe_stream_summary(stream_name=STREAM)
    created = await kinesis.create_queue(
        queue_name=name,
        stream_configuration_list=[
            aiokinesis.QueueStreamConfiguration(
                stream_arn=summary.stream_description_summary.stream_arn,
                starting_position=aiokinesis.QueueStartingPosition(type="TRIM_HORIZON"),
            )
        ],
    )
    return created.queue_description.queue_arn


async def worker(
    kinesis: aiokinesis.Client,
    arn: str,
    messages: int,
    concurrency: int,
    calls: Calls,
    config: aiokinesis.QueueConfig = aiokinesis.QueueConfig(),  # noqa: B008 - frozen
) -> Outcome:
    handled = 0
    done = asyncio.Event()

    async def noop(message: QueueMessage) -> None:
        nonlocal handled
        handled += 1
        if handled == messages:
            done.set()

    async with kinesis.queue_consumer(arn, config=config) as queue:
        before = calls.calls.copy()
        cpu, wall = time.process_time(), time.perf_counter()
        running = asyncio.create_task(queue.run(noop, concurrency=concurrency))
        await done.wait()
        await queue.aclose()  # its acknowledgements waiting are sent
        await running
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert queue.stats.acked == messages, queue.stats
    return Outcome(cpu, wall, calls.calls - before)


async def hand_loop(kinesis: aiokinesis.Client, arn: str, messages: int, *, batched: bool, calls: Calls) -> Outcome:
    before = calls.calls.copy()
    cpu, wall = time.process_time(), time.perf_counter()
    done = 0
    while done < messages:
        out = await kinesis.receive_queue_records(queue_arn=arn, limit=10, wait_time_seconds=1)
        handles = [r.receipt_handle for r in out.queue_records]
        groups = [handles] if batched else [[h] for h in handles]
        for group in groups:
            if not group:
                continue
            entries = [aiokinesis.AcknowledgeQueueRecordsRequestEntry(receipt_handle=h) for h in group]
            answer = await kinesis.acknowledge_queue_records(queue_arn=arn, entries=entries)
            assert not answer.failed, answer.failed
        done += len(handles)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert done == messages
    return Outcome(cpu, wall, calls.calls - before)


Case = Callable[[aiokinesis.Client, str, int, int, Calls], Awaitable[Outcome]]
CASES: dict[str, Case] = {
    "worker, queue.run(no-op)": worker,
    "worker, queue.run(no-op), max_held=100": (
        lambda k, arn, m, c, calls: worker(k, arn, m, c, calls, aiokinesis.QueueConfig(max_held=100))
    ),
    "naive loop, one ack per message": lambda k, arn, m, c, calls: hand_loop(k, arn, m, batched=False, calls=calls),
    "hand-batched loop, one ack call per receive (floor)": (
        lambda k, arn, m, c, calls: hand_loop(k, arn, m, batched=True, calls=calls)
    ),
}


async def fill(endpoint: str, messages: int) -> None:
    """The stream and its records (not measured)."""
    async with aiokinesis.Client(endpoint_url=endpoint, **KEYS) as kinesis:
        await kinesis.create_stream(
            stream_name=STREAM, stream_mode_details=aiokinesis.StreamModeDetails(stream_mode="ON_DEMAND")
        )
        await kinesis.wait.stream_exists(stream_name=STREAM, delay=0.05, max_wait=30)
        payload = b"x" * 100
        for begin in range(0, messages, 500):
            entries = [
                aiokinesis.PutRecordsRequestEntry(data=payload, partition_key=f"key-{i % 1000}")
                for i in range(begin, min(messages, begin + 500))
            ]
            answer = await kinesis.put_records(stream_name=STREAM, records=entries)
            assert not answer.failed_record_count


async def run_case(endpoint: str, name: str, case: Case, messages: int, concurrency: int, serial: int) -> Outcome:
    calls = Calls()
    async with aiokinesis.Client(endpoint_url=endpoint, metrics=calls, **KEYS) as kinesis:
        arn = await new_queue(kinesis, f"bench-{serial}")
        try:
            outcome = await case(kinesis, arn, messages, concurrency, calls)
        finally:
            await kinesis.delete_queue(queue_arn=arn)
    assert not calls.retried, f"{name}: retried {dict(calls.retried)}"
    return outcome


def start_server() -> tuple[subprocess.Popen[str], str]:
    """`python -m aiokinesis.testing` on a free port (it prints its URL once it listens); its URL."""
    command = [sys.executable, "-m", "aiokinesis.testing", "--port", "0", "--no-limits"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert server.stdout is not None
    line = server.stdout.readline()
    if "listening on " not in line:
        server.kill()
        raise RuntimeError(f"aiokinesis.testing did not start: {line!r}")
    return server, line.rsplit(" ", 1)[1].strip()


def spread(values: list[float], digits: int = 0) -> str:
    return f"{statistics.median(values):,.{digits}f} ({min(values):,.{digits}f}-{max(values):,.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    server, endpoint = start_server()
    outcomes: dict[str, list[Outcome]] = {name: [] for name in CASES}
    try:
        asyncio.run(fill(endpoint, args.messages))
        serial = 0
        for _ in range(args.repeat):
            for name, case in CASES.items():
                serial += 1
                outcome = asyncio.run(run_case(endpoint, name, case, args.messages, args.concurrency, serial))
                outcomes[name].append(outcome)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        f"{args.messages:,} messages of 100 bytes a case, {args.repeat} interleaved repetitions, "
        f"worker concurrency {args.concurrency}; CPU of the client process"
    )
    print(
        "| case | messages/s per core median (min-max) | messages/s wall | calls per 1,000 messages: "
        "receive / acknowledge / visibility | calls per 1,000 all |"
    )
    print("|---|---|---|---|---|")
    per_thousand = 1000 / args.messages
    for name, runs in outcomes.items():
        per_core = [args.messages / o.cpu for o in runs]
        wall = [args.messages / o.wall for o in runs]
        counts = [statistics.median(o.calls[op] * per_thousand for o in runs) for op in OPERATIONS]
        total = statistics.median(sum(o.calls.values()) * per_thousand for o in runs)
        row = " / ".join(f"{c:.1f}" for c in counts)
        print(f"| {name} | {spread(per_core)} | {spread(wall)} | {row} | {total:.1f} |")


if __name__ == "__main__":
    main()
