"""PutRecords(500) against the unsigned floor, with an A/B against an older copy of the package.

    .venv/bin/python bench/put_records.py [--calls 300] [--repetitions 7] [--before DIR]

Each measurement is a fresh process (this file with --worker) making `calls` sequential
PutRecords of 500 records of 100 bytes to `stub_server.py` (its own process), after a warm-up of a
tenth of them: CPU per call, the client's whole cost (bench/contenders.py). Cases, interleaved in
every repetition: aiokinesis given `PutRecordsRequestEntry` objects built each call (what
bench/run.py measures), the same with `(data, partition_key)` tuples, and the floors (aiohttp,
orjson, base64; headers signed once, or signed each call by botocore or by aiokinesis's signer). With `--before DIR` (a
directory holding an `aiokinesis` package, e.g. from `git archive`), the object case also runs
from it. Medians with min-max, and ratios to the unsigned floor and to the floor signed by
aiokinesis's signer of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import orjson

import aiokinesis
from aiokinesis._signing import FrozenCredentials, SigV4Signer

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contenders
import run
import worker

CASES = {
    "objects": "aiokinesis, `PutRecordsRequestEntry` objects built each call",
    "tuples": "aiokinesis, `(data, partition_key)` tuples",
    "floor": "floor (aiohttp+orjson, botocore SigV4 each call)",
    "floor_hashlib": "floor, SigV4 each call by aiokinesis's signer (hashlib, hmac)",
    "floor_unsigned": "floor, headers signed once",
}


@contextlib.asynccontextmanager
async def tuple_calls(endpoint: str) -> AsyncIterator[contenders.AsyncCall]:
    async with aiokinesis.Client(endpoint_url=endpoint, region=contenders.REGION, **contenders.KEYS) as client:

        async def put_records() -> int:
            out = await client.put_records(stream_name=contenders.STREAM, records=contenders.BATCH)
            return len(out.records)

        yield put_records


@contextlib.asynccontextmanager
async def hashlib_floor_calls(endpoint: str) -> AsyncIterator[contenders.AsyncCall]:
    """The unsigned floor plus what signing costs at least: the body's SHA-256 and the HMACs each call."""
    signer = SigV4Signer(contenders.REGION)
    creds = FrozenCredentials(contenders.KEYS["aws_access_key_id"], contenders.KEYS["aws_secret_access_key"])
    host = endpoint.removeprefix("http://")
    async with aiohttp.ClientSession() as http:

        async def call() -> int:
            records = [{"Data": base64.b64encode(d).decode(), "PartitionKey": k} for d, k in contenders.BATCH]
            body = orjson.dumps({"StreamName": contenders.STREAM, "Records": records})
            headers = signer.headers(host, "Kinesis_20131202.PutRecords", body, creds, time.time())
            async with http.post(endpoint + "/", data=body, headers=headers) as response:
                return len(orjson.loads(await response.read())["Records"])

        yield call


def measure(case: str, endpoint: str, calls: int) -> dict[str, float]:
    if case == "objects":
        factory = contenders.aiokinesis_calls(endpoint, "put_records", 1)
    elif case == "tuples":
        factory = tuple_calls(endpoint)
    elif case == "floor_hashlib":
        factory = hashlib_floor_calls(endpoint)
    else:
        factory = contenders.floor_calls(endpoint, "put_records", 1, sign_each=case == "floor")
    return asyncio.run(worker.time_calls(factory, 1, calls))


def spawn(case: str, endpoint: str, calls: int, path: str | None) -> float:
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = path
    command = [sys.executable, __file__, "--worker", case, "--endpoint", endpoint, "--calls", str(calls)]
    out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=600, env=env)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return float(result["cpu"]) / calls * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument("--before", help="a directory holding the aiokinesis package to compare with")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args.endpoint, args.calls)))
        return 0
    runs: list[tuple[str, str, str | None]] = [(case, label, None) for case, label in CASES.items()]
    if args.before:
        runs.insert(0, ("objects", f"[before] {CASES['objects']}", str(Path(args.before).resolve())))
    figures: dict[str, list[float]] = {label: [] for _, label, _ in runs}
    with run.stub_server(4, 1000) as endpoint:
        for repetition in range(args.repetitions):
            for case, label, path in runs:
                figures[label].append(spawn(case, endpoint, args.calls, path))
            print(f"repetition {repetition + 1}: " + ", ".join(f"{v[-1]:.0f}" for v in figures.values()), flush=True)
    floor = statistics.median(figures[CASES["floor_unsigned"]])
    signed = statistics.median(figures[CASES["floor_hashlib"]])
    print("| contender | CPU µs/call median (min-max) | x floor unsigned | x floor signed by aiokinesis's signer |")
    print("|---|---|---|---|")
    for label, values in figures.items():
        median = statistics.median(values)
        shown = f"{median:,.0f} ({min(values):,.0f}-{max(values):,.0f})"
        print(f"| {label} | {shown} | {median / floor:.2f} | {median / signed:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
