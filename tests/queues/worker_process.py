"""One queue worker as its own process, for tests/queues/test_processes.py.

python -m tests.queues.worker_process --endpoint URL --queue ARN --log PATH --stop-file PATH

`queue.run(handler)` on a queue consumer whose cap on held messages equals its concurrency, so a
message it holds is one a handler has (or is about to get). The handler logs each message
("handled": record id, its {"k", "n"} data, receive count, the server's first-receive time),
acknowledges it (`await message.ack()`: confirmed by the service) and logs that ("acked"). Each
line is flushed, so a kill -9 loses nothing written. SIGTERM is a clean close ("closed", with the
consumer's counters).

Once the stop file exists, the next message handled is not acknowledged, nor any after it: their
handlers wait. When no acknowledgement is on its way and every message the consumer holds is one
of those (two looks in a row, so answers already on the socket are read), the worker logs
"stopping" with their record ids and stops itself (SIGSTOP): its test kills it there, where a
kill hurts most, with records handled and not acknowledged.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import signal
from pathlib import Path

import orjson

import aiokinesis
from aiokinesis.queues import QueueConsumer, QueueMessage
from tests.conftest import LOCAL_KEYS
from tests.processes import JsonLog

QUIET_LOOKS = 6000
"""Looks (10 ms apart) the stopping worker makes for a quiet moment before it gives up (a minute)."""


class Handler:
    def __init__(self, queue: QueueConsumer, log: JsonLog, stop_file: Path) -> None:
        self._queue = queue
        self._log = log
        self._stop_file = stop_file
        self._acking = 0
        self._stuck: list[str] = []
        """Record ids handled once stopping began, never to be acknowledged."""
        self._stopper: asyncio.Task[None] | None = None

    async def __call__(self, message: QueueMessage) -> None:
        value = orjson.loads(message.data)
        self._log.write(
            "handled",
            id=message.record_id,
            key=value["k"],
            n=value["n"],
            count=message.receive_count,
            first=message.first_receive_timestamp.timestamp(),
        )
        if self._stopper is None and self._stop_file.exists():
            self._stop_file.unlink()
            self._stopper = asyncio.get_running_loop().create_task(self._stop())
        if self._stopper is not None:
            self._stuck.append(message.record_id)
            await asyncio.Event().wait()  # handled, never acknowledged: killed here
        self._acking += 1
        try:
            await message.ack()
        finally:
            self._acking -= 1
        self._log.write("acked", id=message.record_id)

    async def _stop(self) -> None:
        quiet = 0
        for _ in range(QUIET_LOOKS):
            await asyncio.sleep(0.01)
            if self._acking == 0 and self._queue.stats.in_flight == len(self._stuck):
                quiet += 1
                if quiet == 2:
                    self._log.write("stopping", held=self._stuck)
                    os.kill(os.getpid(), signal.SIGSTOP)
                    return
            else:
                quiet = 0
        self._log.write("never-quiet", held=self._stuck, in_flight=self._queue.stats.in_flight)


async def work(args: argparse.Namespace) -> None:
    log = JsonLog(args.log)
    config = aiokinesis.QueueConfig(concurrency=args.concurrency, max_held=args.concurrency)
    async with (
        aiokinesis.Client(endpoint_url=args.endpoint, **LOCAL_KEYS) as client,
        client.queue_consumer(args.queue, config=config) as queue,
    ):
        loop = asyncio.get_running_loop()
        # The close SIGTERM begins ends run(); the `async with`'s own close waits for it.
        closing: list[asyncio.Task[None]] = []
        loop.add_signal_handler(signal.SIGTERM, lambda: closing.append(loop.create_task(queue.aclose())))
        log.write("started", pid=os.getpid())
        await queue.run(Handler(queue, log, Path(args.stop_file)))
    log.write("closed", **dataclasses.asdict(queue.stats))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.queues.worker_process")
    for name in ("endpoint", "queue", "log", "stop-file"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    asyncio.run(work(parser.parse_args()))


if __name__ == "__main__":
    main()
