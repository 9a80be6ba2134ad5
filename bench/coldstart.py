"""Cold start: the CPU of a fresh process that imports a client, makes one and completes one PutRecord.

    bench/.venv/bin/python bench/coldstart.py [--repetitions 20] [--aiobotocore PYTHON] [--capo PYTHON]

Every measurement is a fresh interpreter (`python -E -s -c CODE`, run in the checkout this script is in,
so that checkout's aiokinesis is the one imported) against stub_server.py in its own
process; its CPU is the child's user + system time (`getrusage(RUSAGE_CHILDREN)` before and after),
interpreter start-up included, which every contender pays alike. Cases are interleaved (every case
once, then again) so the noise of a shared machine falls on all alike; figures are medians with
min-max, and the ratio to the floor is also given as the median of each repetition's own ratio
(neighbouring runs, so drift cancels). The floor is the least a signed call can be: aiohttp, orjson,
and SigV4 written out with hashlib and hmac. aiobotocore and capo-kinesis pin their own
dependencies, so each runs from its own venv, given by --aiobotocore and --capo (rows skipped
without them). --baseline DIR adds the rows of another checkout's aiokinesis (before and after a
change, in one run).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import stub_server

ROOT = Path(__file__).resolve().parents[1]

KEYS = "access, secret = 'AKIDBENCH', 'bench-secret'\n"

AIOKINESIS = """
import asyncio, sys
import aiokinesis
async def main():
    async with aiokinesis.Client(endpoint_url=sys.argv[1], region='us-east-1', aws_access_key_id=access,
                                 aws_secret_access_key=secret) as client:
        out = await client.put_record(stream_name='bench', data=bytes(range(100)), partition_key='pk')
    assert out.shard_id
asyncio.run(main())
"""

# SigV4 over the request as AWS specifies it: no client can sign with less work.
FLOOR = """
import asyncio, hashlib, hmac, sys, time
from base64 import b64encode
import aiohttp, orjson
def signed(url, target, body):
    host = url.split('//', 1)[1].rstrip('/')
    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
    day = stamp[:8]
    headers = {'content-type': 'application/x-amz-json-1.1', 'host': host, 'x-amz-date': stamp,
               'x-amz-target': target}
    names = ';'.join(sorted(headers))
    canonical = '\\n'.join(['POST', '/', '', *(f'{k}:{headers[k]}' for k in sorted(headers)), '', names,
                           hashlib.sha256(body).hexdigest()])
    scope = f'{day}/us-east-1/kinesis/aws4_request'
    to_sign = f'AWS4-HMAC-SHA256\\n{stamp}\\n{scope}\\n' + hashlib.sha256(canonical.encode()).hexdigest()
    key = ('AWS4' + secret).encode()
    for part in (day, 'us-east-1', 'kinesis', 'aws4_request'):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers['authorization'] = (f'AWS4-HMAC-SHA256 Credential={access}/{scope}, SignedHeaders={names}, '
                                f'Signature={signature}')
    del headers['host']
    return headers
async def main():
    url = sys.argv[1] + '/'
    body = orjson.dumps({'StreamName': 'bench', 'Data': b64encode(bytes(range(100))).decode(), 'PartitionKey': 'pk'})
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=body, headers=signed(url, 'Kinesis_20131202.PutRecord', body)) as response:
            out = orjson.loads(await response.read())
    assert out['ShardId']
asyncio.run(main())
"""

AIOBOTOCORE = """
import asyncio, sys
from aiobotocore.session import get_session
async def main():
    async with get_session().create_client('kinesis', region_name='us-east-1', endpoint_url=sys.argv[1],
                                           aws_access_key_id=access, aws_secret_access_key=secret) as client:
        out = await client.put_record(StreamName='bench', Data=bytes(range(100)), PartitionKey='pk')
    assert out['ShardId']
asyncio.run(main())
"""

CAPO = """
import asyncio, sys
from capo_kinesis import AsyncKinesisClient, Credentials
async def main():
    async with AsyncKinesisClient(region='us-east-1', endpoint=sys.argv[1],
                                  credentials=Credentials(access_key=access, secret_key=secret)) as client:
        out = await client.put_record(data=bytes(range(100)), stream_name='bench', partition_key='pk')
    assert out['shard_id']
asyncio.run(main())
"""


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # "cold start", "import" or "start-up"
    python: str
    code: str
    floor: bool = False
    cwd: Path = ROOT


def cases(aiobotocore: str | None, capo: str | None, baseline: Path | None) -> list[Case]:
    ours = sys.executable
    found = [Case("aiokinesis", "cold start", ours, AIOKINESIS)]
    if baseline:
        found.append(Case(f"aiokinesis of {baseline}", "cold start", ours, AIOKINESIS, cwd=baseline))
    found += [
        Case("floor (aiohttp+orjson, SigV4 by hashlib)", "cold start", ours, FLOOR, floor=True),
        Case("aiokinesis", "import", ours, "import aiokinesis"),
        *([Case(f"aiokinesis of {baseline}", "import", ours, "import aiokinesis", cwd=baseline)] if baseline else []),
        Case("aiohttp + orjson (the floor's)", "import", ours, "import aiohttp, orjson", floor=True),
        Case("python -c pass", "start-up", ours, "pass"),
    ]
    if aiobotocore:
        found += [
            Case("aiobotocore", "cold start", aiobotocore, AIOBOTOCORE),
            Case("aiobotocore", "import", aiobotocore, "import aiobotocore.session"),
        ]
    if capo:
        found += [
            Case("capo-kinesis", "cold start", capo, CAPO),
            Case("capo-kinesis", "import", capo, "import capo_kinesis"),
        ]
    return found


def measure(case: Case, endpoint: str) -> tuple[float, float]:
    """CPU seconds (user + system) and wall seconds of one fresh process running the case."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run([case.python, "-E", "-s", "-c", KEYS + case.code, endpoint], cwd=case.cwd, check=True, timeout=120)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def fmt(values: list[float]) -> str:
    return f"{statistics.median(values) * 1e3:,.1f} ({min(values) * 1e3:,.1f}-{max(values) * 1e3:,.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=20)
    parser.add_argument("--aiobotocore", help="a Python with aiobotocore installed")
    parser.add_argument("--capo", help="a Python with capo-kinesis installed")
    parser.add_argument("--baseline", type=Path, help="another checkout whose aiokinesis to measure alongside")
    args = parser.parse_args()
    found = cases(args.aiobotocore, args.capo, args.baseline)
    cpu: dict[Case, list[float]] = {case: [] for case in found}
    wall: dict[Case, list[float]] = {case: [] for case in found}
    with stub_server(4, 1) as endpoint:
        for case in found:  # once unmeasured: bytecode caches written, files in the page cache
            measure(case, endpoint)
        for rep in range(args.repetitions):
            print(f"[{rep + 1}/{args.repetitions}]", file=sys.stderr)
            for case in found:
                used, took = measure(case, endpoint)
                cpu[case].append(used)
                wall[case].append(took)
    floor = {case.kind: case for case in found if case.floor}
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end, {args.repetitions} repetitions")
    print()
    print("| what | contender | CPU ms median (min-max) | wall ms median | x floor (medians) | x floor (paired) |")
    print("|---|---|---|---|---|---|")
    for case in found:
        base = floor.get(case.kind)
        ratio = paired = "-"
        if base is not None:
            ratio = f"{statistics.median(cpu[case]) / statistics.median(cpu[base]):.2f}"
            paired = f"{statistics.median(a / b for a, b in zip(cpu[case], cpu[base], strict=True)):.2f}"
        print(
            f"| {case.kind} | {case.name} | {fmt(cpu[case])} | {statistics.median(wall[case]) * 1e3:,.0f} "
            f"| {ratio} | {paired} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
