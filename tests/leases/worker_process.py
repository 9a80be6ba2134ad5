"""One lease worker as its own process, for tests/leases/test_processes.py.

python -m tests.leases.worker_process --endpoint URL --dynamodb URL --table T --stream S --worker-id W --log PATH

A consumer on DynamoDBLeases that handles every batch and checkpoints it, appending one JSON line
per handled record, per checkpoint outcome and per lease change to its log (flushed per line, so a
kill -9 loses nothing written). SIGTERM is a clean close: iteration stops and `async with` closes
the consumer, which hands its leases back. With --stop-file, the worker stops itself (SIGSTOP)
between handling a batch and checkpointing it once that file exists, so the test can wake it
(SIGCONT) exactly where a paused worker is most dangerous: about to checkpoint a shard it lost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
from pathlib import Path

import orjson

import aiokinesis
from tests.conftest import LOCAL_KEYS
from tests.processes import JsonLog


def config(failover: float) -> aiokinesis.ConsumerConfig:
    return aiokinesis.ConsumerConfig(
        failover_time=failover,
        list_shards_interval=1.0,
        reader=aiokinesis.ReaderConfig(min_interval=0.05, idle_interval=0.2),
    )


class Watch:
    """Logs each change of what this worker holds, as consumer.progress() shows it: polled, and
    before each batch is logged, so a shard's "held" line always comes before its records."""

    def __init__(self, consumer: aiokinesis.StreamConsumer, log: JsonLog) -> None:
        self._consumer = consumer
        self._log = log
        self._held: dict[str, int | None] = {}

    def look(self) -> None:
        now = {p.shard_id: p.lease_counter for p in self._consumer.progress() if p.held}
        for shard in sorted(set(now) - set(self._held)):
            self._log.write("lease", shard=shard, held=True, counter=now[shard])
        for shard in sorted(set(self._held) - set(now)):
            self._log.write("lease", shard=shard, held=False, counter=self._held[shard])
        self._held = now

    async def run(self) -> None:
        while True:
            self.look()
            await asyncio.sleep(0.05)


async def work(args: argparse.Namespace) -> None:
    log = JsonLog(args.log)
    leases = aiokinesis.DynamoDBLeases(args.table, endpoint_url=args.dynamodb)
    stop_file = Path(args.stop_file) if args.stop_file else None
    async with (
        aiokinesis.Client(endpoint_url=args.endpoint, **LOCAL_KEYS) as client,
        client.consumer(
            args.stream,
            leases=leases,
            worker_id=args.worker_id,
            start=aiokinesis.StartingPosition.trim_horizon(),
            config=config(args.failover),
        ) as consumer,
    ):
        loop = asyncio.get_running_loop()
        # The close SIGTERM begins overlaps the `async with`'s own: that one waits for it to finish.
        closing: list[asyncio.Task[None]] = []
        loop.add_signal_handler(signal.SIGTERM, lambda: closing.append(loop.create_task(consumer.aclose())))
        watch = Watch(consumer, log)
        watcher = loop.create_task(watch.run())
        log.write("started", pid=os.getpid())
        async for batch in consumer:
            watch.look()
            for record in batch:
                value = orjson.loads(record.data)
                log.write("handled", shard=batch.shard_id, seq=record.sequence_number, key=value["k"], n=value["n"])
            if stop_file is not None and stop_file.exists():
                stop_file.unlink()
                log.write("stopping", shard=batch.shard_id)
                os.kill(os.getpid(), signal.SIGSTOP)
                log.write("woke", shard=batch.shard_id)
            last = batch.records[-1].sequence_number if batch.records else None
            try:
                await batch.checkpoint()
            except aiokinesis.LeaseLostError as error:
                log.write("checkpoint", shard=batch.shard_id, seq=last, ok=False, error=str(error))
            else:
                log.write("checkpoint", shard=batch.shard_id, seq=last, ok=True)
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    log.write("closed")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.leases.worker_process")
    for name in ("endpoint", "dynamodb", "table", "stream", "worker-id", "log"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--failover", type=float, default=2.0)
    parser.add_argument("--stop-file", default=None)
    asyncio.run(work(parser.parse_args()))


if __name__ == "__main__":
    main()
