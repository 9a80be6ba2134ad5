"""The producer against its floors: CPU per record of put() and put_many(), and bytes per buffered record.

    .venv/bin/python bench/producer.py [--repetitions 5] [--records 200000] [--baseline DIR] [--quick]

Every case is a fresh process against `stub_server.py` (its own process, 500 shards, so the
default pacing of 1.5 x 1000 records/s a shard never holds a record back and the figure is CPU,
not waiting; `--route`, so each entry is answered with the shard its key hashes to, as Kinesis
does: a producer that predicts shards, as pacing does, would otherwise see every prediction fail
and list the shards again after each request); repetitions are interleaved (every case once,
then again). Figures are medians with min-max, and ratios to the receipt floor of the same run:

- `floor, receipt per record`: the least a producer with a receipt per record can do: per record
  one coroutine call (`await put(...)`) and one asyncio Future; per 500 records one PutRecords
  (stdlib base64, orjson, aiokinesis's own SigV4 signer, aiohttp), each future then resolved with
  (shard, sequence number). `floor, batch` is the same without the per-record coroutine.
- `put()`: aiokinesis's producer, default ProducerConfig (pacing on, linger 0.05 s), 10,000 keys.
- `put_many()`: the same records in calls of 1,000; once more with `gc.freeze()` after start-up
  (GC tuning a service may choose; the targets hold without it).
- memory: 100,000 records of 100 bytes (one bytes object, 10,000 keys made beforehand) put without
  the event loop running in between, so all stay buffered; tracemalloc's traced bytes after
  minus before, per record: what the producer holds for a record beyond its data and key.

`--baseline DIR` adds the same cases for another aiokinesis checkout (DIR holds its `aiokinesis/`),
interleaved with these: before and after in one run. `--quick` is a smoke run (a tenth of the
records, one repetition) and writes nothing; a full run writes bench/producer-results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from binascii import b2a_base64
from pathlib import Path
from typing import Any

import aiohttp
import orjson

import aiokinesis
from aiokinesis._signing import FrozenCredentials, SigV4Signer

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import stub_server  # noqa: E402 - bench/ on the path first

RECORD = bytes(range(100))
KEYS = [f"pk-{i}" for i in range(10_000)]
STREAM = "bench"
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "AKIDBENCH", "aws_secret_access_key": "bench-secret"}
SHARDS = 500
MEMORY_RECORDS = 100_000
CASES = ["floor", "floor_batch", "put", "put_many", "put_many_frozen", "memory"]
LABELS = {
    "floor": "floor, receipt per record (await put())",
    "floor_batch": "floor, batch (a receipt per record, no await per record)",
    "put": "aiokinesis put(), default config, pacing on",
    "put_many": "aiokinesis put_many(), 1,000 a call",
    "put_many_frozen": "aiokinesis put_many(), gc.freeze() after start-up (GC tuning, not a target)",
}


# -- the floor -----------------------------------------------------------------------------------


class FloorProducer:
    """A receipt (future) per record, a PutRecords per 500: nothing checked, paced or retried."""

    def __init__(self, endpoint: str) -> None:
        self._url = endpoint + "/"
        self._host = endpoint.removeprefix("http://")
        self._signer = SigV4Signer(REGION)
        self._creds = FrozenCredentials(CREDENTIALS["aws_access_key_id"], CREDENTIALS["aws_secret_access_key"])
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=16))
        self._pending: list[tuple[bytes, str, asyncio.Future[tuple[str, str]]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def put(self, data: bytes, key: str) -> asyncio.Future[tuple[str, str]]:
        return self.add(data, key)

    def add(self, data: bytes, key: str) -> asyncio.Future[tuple[str, str]]:
        future: asyncio.Future[tuple[str, str]] = asyncio.get_running_loop().create_future()
        self._pending.append((data, key, future))
        if len(self._pending) >= 500:
            self.send()
        return future

    def send(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            task = asyncio.create_task(self._send(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[tuple[bytes, str, asyncio.Future[tuple[str, str]]]]) -> None:
        entries = [{"Data": b2a_base64(d, newline=False).decode(), "PartitionKey": k} for d, k, _ in batch]
        body = orjson.dumps({"StreamName": STREAM, "Records": entries})
        headers = self._signer.headers(self._host, "Kinesis_20131202.PutRecords", body, self._creds, time.time())
        async with self._http.post(self._url, data=body, headers=headers) as response:
            answer = orjson.loads(await response.read())
        for (_, _, future), result in zip(batch, answer["Records"], strict=True):
            future.set_result((result["ShardId"], result["SequenceNumber"]))

    async def aclose(self) -> None:
        self.send()
        while self._tasks:
            await asyncio.gather(*self._tasks)
        await self._http.close()


# -- one measurement (a fresh process) -----------------------------------------------------------


async def measure(case: str, endpoint: str, records: int) -> dict[str, float]:
    keys = [KEYS[i % len(KEYS)] for i in range(records)]
    warm = keys[: records // 10]
    if case.startswith("floor"):
        floor = FloorProducer(endpoint)
        for key in warm:
            await floor.put(RECORD, key)
        floor.send()
        await asyncio.gather(*floor._tasks)  # noqa: SLF001 - the bench's own class
        return await timed(records, lambda: floor_run(floor, keys, batch=case == "floor_batch"))
    async with aiokinesis.Client(endpoint_url=endpoint, region=REGION, **CREDENTIALS) as client:
        producer = client.producer(STREAM)
        await producer.__aenter__()
        for key in warm:
            await producer.put(RECORD, partition_key=key)
        await producer.flush()
        if case == "put_many_frozen":
            gc.collect()
            gc.freeze()  # what a service may do once started: the collector stops walking start-up's objects
        return await timed(records, lambda: produce(producer, keys, batch=case.startswith("put_many")))


async def floor_run(floor: FloorProducer, keys: list[str], *, batch: bool) -> None:
    if batch:
        for key in keys:
            floor.add(RECORD, key)
    else:
        for key in keys:
            await floor.put(RECORD, key)
    await floor.aclose()


async def produce(producer: Any, keys: list[str], *, batch: bool) -> None:
    if batch:
        records = [(RECORD, key) for key in keys]
        for start in range(0, len(records), 1000):
            await producer.put_many(records[start : start + 1000])
    else:
        for key in keys:
            await producer.put(RECORD, partition_key=key)
    await producer.aclose()  # every receipt resolved


async def timed(records: int, run: Any) -> dict[str, float]:
    collections = gc.get_stats()[0]["collections"]
    cpu, wall = time.process_time(), time.perf_counter()
    await run()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"cpu": cpu, "wall": wall, "records": records, "gen0": gc.get_stats()[0]["collections"] - collections}


async def buffered_bytes(endpoint: str) -> dict[str, float]:
    """Bytes traced per buffered record: put() never yields on the fast path, so nothing is sent."""
    keys = [KEYS[i % len(KEYS)] for i in range(MEMORY_RECORDS)]
    config = aiokinesis.ProducerConfig(max_buffered_records=MEMORY_RECORDS)
    async with aiokinesis.Client(endpoint_url=endpoint, region=REGION, **CREDENTIALS) as client:
        producer = client.producer(STREAM, config=config)
        await producer.__aenter__()
        receipts = []
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for key in keys:
            receipts.append(await producer.put(RECORD, partition_key=key))
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before - sys.getsizeof(receipts)
        tracemalloc.stop()
        buffered = producer.stats.buffered_records
        receipts.clear()
        await producer.aclose()
        return {"bytes_per_record": held / buffered, "records": buffered}


def worker(case: str, endpoint: str, records: int) -> None:
    if case == "memory":
        result = asyncio.run(buffered_bytes(endpoint))
    else:
        result = asyncio.run(measure(case, endpoint, records))
    print(json.dumps(result))


# -- the run ---------------------------------------------------------------------------------------


def run_case(case: str, endpoint: str, records: int, path: str | None) -> dict[str, float]:
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = path + os.pathsep + env.get("PYTHONPATH", "")
    command = [sys.executable, str(HERE / "producer.py"), "--worker", case, "--endpoint", endpoint]
    out = subprocess.run(
        [*command, "--records", str(records)], check=True, capture_output=True, text=True, timeout=900, env=env
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def spread(values: list[float], digits: int = 2) -> str:
    return f"{statistics.median(values):,.{digits}f} ({min(values):,.{digits}f}-{max(values):,.{digits}f})"


def report(results: dict[tuple[str, str], list[dict[str, float]]]) -> str:
    def per_record(runs: list[dict[str, float]]) -> list[float]:
        return [r["cpu"] / r["records"] * 1e6 for r in runs]

    floor = statistics.median(per_record(results[("this", "floor")]))
    lines = [
        "| case | build | CPU µs/record median (min-max) | records/s per core | x receipt floor | gen0 GCs a run |",
        "|---|---|---|---|---|---|",
    ]
    for (build, case), runs in results.items():
        if case == "memory":
            continue
        cpu = per_record(runs)
        lines.append(
            f"| {LABELS[case]} | {build} | {spread(cpu)} | {1e6 / statistics.median(cpu):,.0f} "
            f"| {statistics.median(cpu) / floor:.2f} | {statistics.median(r['gen0'] for r in runs):,.0f} |"
        )
    lines += [
        "",
        "| buffered records (100 bytes, 10,000 keys) | build | bytes a record beyond its data |",
        "|---|---|---|",
    ]
    for (build, case), runs in results.items():
        if case == "memory":
            lines.append(
                f"| {runs[0]['records']:,.0f} | {build} | {spread([r['bytes_per_record'] for r in runs], 0)} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", default="")
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--baseline", help="another checkout's directory (holding aiokinesis/), measured alongside")
    parser.add_argument("--quick", action="store_true", help="a tenth of the records, one repetition; writes nothing")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.endpoint, args.records)
        return 0
    records, reps = (args.records // 10, 1) if args.quick else (args.records, args.repetitions)
    builds: list[tuple[str, str | None]] = [("this", None)]
    if args.baseline:
        builds.append(("baseline", str(Path(args.baseline).resolve())))
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    with stub_server(SHARDS, 0, route=True) as endpoint:
        for rep in range(reps):
            for case in CASES:
                for build, path in builds:
                    if build == "baseline" and case.startswith("put_many"):
                        continue
                    if build == "baseline" and case.startswith("floor"):
                        continue  # the floor does not depend on the build
                    print(f"[{rep + 1}/{reps}] {case} {build}", file=sys.stderr)
                    results.setdefault((build, case), []).append(run_case(case, endpoint, records, path))
    print(report(results))
    if not args.quick:
        out = HERE / "producer-results.json"
        out.write_text(json.dumps({f"{b} {c}": v for (b, c), v in results.items()}, indent=1))
        print(f"raw figures: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
