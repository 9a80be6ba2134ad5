"""Run every comparison against the stub and print one table (and write it to bench/README.md).

    bench/run.sh              # sets up bench/.venv, then runs this
    bench/run.sh --quick      # fewer calls and repetitions, for a smoke test

Each measurement is a fresh process (bench/worker.py); repetitions are interleaved
(every contender once, then again) so drift on a noisy machine hits all alike. Figures
are medians with min-max, and ratios to aiobotocore and to the floor of the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
# (workload, calls per measurement); the slowest contender takes a few seconds per run.
WORKLOADS = [("put_records", 200), ("get_records", 100), ("put_record", 2000)]
ASYNC_CONTENDERS = ["aiokinesis", "aiobotocore", "floor", "floor_unsigned"]
CONCURRENCY = [1, 64]
BOTO3_THREADS = [1, 16]
LABELS = {
    "floor": "floor (aiohttp+orjson, botocore SigV4 each call)",
    "floor_unsigned": "floor, headers signed once",
}


# Stub configurations: (shards, records per GetRecords); fan-in polls shards with nothing new.
STUBS = {"default": (4, 1000), "fanin100": (100, 0), "fanin1000": (1000, 0)}


@dataclass(frozen=True)
class Case:
    contender: str
    workload: str
    concurrency: int
    calls: int

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.workload, self.contender, self.concurrency)

    @property
    def stub(self) -> str:
        return self.workload if self.workload in STUBS else "default"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError("the stub server did not start")


@contextlib.contextmanager
def stub_server(
    shards: int, records_per_get: int, max_record_size_kib: int | None = None, *, route: bool = False
) -> Iterator[str]:
    port = free_port()
    command = [PYTHON, str(HERE / "stub_server.py"), "--port", str(port), "--shards", str(shards)]
    if max_record_size_kib is not None:
        command += ["--max-record-size-kib", str(max_record_size_kib)]
    if route:
        command.append("--route")
    process = subprocess.Popen([*command, "--records-per-get", str(records_per_get)])
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def measure(case: Case, endpoint: str) -> dict[str, float]:
    command = [
        PYTHON, str(HERE / "worker.py"), "--contender", case.contender, "--workload", case.workload,
        "--endpoint", endpoint, "--concurrency", str(case.concurrency), "--calls", str(case.calls),
    ]  # fmt: skip
    out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def cases(scale: float) -> list[Case]:
    found = []
    for workload, calls in WORKLOADS:
        n = max(64, int(calls * scale))
        found += [Case(c, workload, conc, n) for c in ASYNC_CONTENDERS for conc in CONCURRENCY]
        found += [Case("boto3", workload, threads, n) for threads in BOTO3_THREADS]
    found += [Case(name, "import", 1, 1) for name in ("aiokinesis", "aiobotocore", "boto3")]
    found += [
        Case("aiokinesis", "producer", 1, int(200_000 * scale)),
        Case("aiokinesis", "consumer", 1, int(300_000 * scale)),
    ]
    seconds = 8 if scale >= 1 else 3  # fan-in: seconds measured ("calls" of the worker)
    found += [
        Case(name, f"fanin{n}", 1, seconds) for n in (100, 1000) for name in ("aiokinesis", "aiobotocore", "floor")
    ]
    return found


def fmt_range(values: list[float], scale: float, digits: int = 0) -> str:
    med = statistics.median(values) * scale
    return f"{med:,.{digits}f} ({min(values) * scale:,.{digits}f}-{max(values) * scale:,.{digits}f})"


def table(results: dict[tuple[str, str, int], list[dict[str, float]]]) -> str:
    def cpu_per_call(key: tuple[str, str, int]) -> float:
        return statistics.median(r["cpu"] / r["calls"] for r in results[key])

    lines = [
        "| workload | contender | concurrency | CPU µs/call median (min-max) | CPU µs/record | calls/s | peak RSS MB "
        "| x aiobotocore | x floor unsigned |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (workload, contender, conc), runs in results.items():
        if workload == "import" or workload in ("producer", "consumer") or workload.startswith("fanin"):
            continue
        per_call = [r["cpu"] / r["calls"] for r in runs]
        records = statistics.median(r["records"] / r["calls"] for r in runs)
        rate = statistics.median(r["calls"] / r["wall"] for r in runs)
        rss = statistics.median(r["rss_mb"] for r in runs)
        base_conc = conc if contender != "boto3" else (1 if conc == 1 else 64)
        key = (workload, contender, conc)
        vs_aiobotocore = cpu_per_call(key) / cpu_per_call((workload, "aiobotocore", base_conc))
        vs_floor = cpu_per_call(key) / cpu_per_call((workload, "floor_unsigned", base_conc))
        per_record = f"{statistics.median(per_call) / records * 1e6:,.2f}" if records > 1 else "-"
        label = LABELS.get(contender, contender)
        shown_conc = f"{conc} threads" if contender == "boto3" and conc > 1 else str(conc)
        lines.append(
            f"| {workload} | {label} | {shown_conc} | {fmt_range(per_call, 1e6)} | {per_record} | {rate:,.0f} "
            f"| {rss:.0f} | {vs_aiobotocore:.2f} | {vs_floor:.2f} |"
        )
    lines += ["", "| import | CPU ms median (min-max) |", "|---|---|"]
    for (workload, contender, _), runs in results.items():
        if workload == "import":
            lines.append(f"| {contender} | {fmt_range([r['cpu'] for r in runs], 1e3, 1)} |")
    return "\n".join(lines + throughput_table(results) + fan_in_table(results))


def median_of(runs: list[dict[str, float]], field: str) -> float:
    return statistics.median(r[field] for r in runs)


def throughput_table(results: dict[tuple[str, str, int], list[dict[str, float]]]) -> list[str]:
    lines = [
        "",
        "| workload | contender | records a run | CPU µs/record median (min-max) | records/s per core "
        "| records/s | peak RSS MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for (workload, contender, _), runs in results.items():
        if workload in ("producer", "consumer"):
            per_record = [r["cpu"] / r["records"] for r in runs]
            rate = statistics.median(r["records"] / r["wall"] for r in runs)
            lines.append(
                f"| {workload} | {contender} | {runs[0]['records']:,.0f} | {fmt_range(per_record, 1e6, 2)} "
                f"| {1 / statistics.median(per_record):,.0f} | {rate:,.0f} | {median_of(runs, 'rss_mb'):.0f} |"
            )
    return lines


def fan_in_table(results: dict[tuple[str, str, int], list[dict[str, float]]]) -> list[str]:
    lines = [
        "",
        "| shards, each read once a second | contender | CPU share of one core median (min-max) "
        "| loop lag p50 ms | loop lag p99 ms | peak RSS MB |",
        "|---|---|---|---|---|---|",
    ]
    for (workload, contender, _), runs in results.items():
        if workload.startswith("fanin"):
            share = fmt_range([r["cpu_share"] for r in runs], 100, 1)
            lines.append(
                f"| {workload.removeprefix('fanin')} | {LABELS.get(contender, contender)} | {share} % "
                f"| {median_of(runs, 'lag_p50_ms'):.1f} | {median_of(runs, 'lag_p99_ms'):.1f} "
                f"| {median_of(runs, 'rss_mb'):.0f} |"
            )
    return lines


def environment() -> str:
    names = ["aiokinesis", "aiobotocore", "boto3", "botocore", "aiohttp", "orjson"]
    versions = ", ".join(f"{name} {version(name)}" for name in names)
    return (
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.platform()}; {versions}."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument(
        "--quick", action="store_true", help="a tenth of the calls, 1 repetition; tracked files left alone"
    )
    parser.add_argument("--only", default="", help="workloads to run, comma-separated (tracked files untouched)")
    args = parser.parse_args()
    scale, reps = (0.1, 1) if args.quick else (1.0, args.repetitions)
    only = set(filter(None, args.only.split(",")))
    results: dict[tuple[str, str, int], list[dict[str, float]]] = {}
    with contextlib.ExitStack() as stubs:
        endpoints = {name: stubs.enter_context(stub_server(*config)) for name, config in STUBS.items()}
        for rep in range(reps):
            for case in cases(scale):
                if only and case.workload not in only:
                    continue
                print(f"[{rep + 1}/{reps}] {case.workload} {case.contender} x{case.concurrency}", file=sys.stderr)
                results.setdefault(case.key, []).append(measure(case, endpoints[case.stub]))
    report = f"{environment()}\n\n{table(results)}\n"
    print(report)
    partial = args.quick or bool(only)
    # Only a whole run replaces the committed figures; a partial one leaves them for a scratch file.
    out = HERE / ("results-partial.json" if partial else "results.json")
    out.write_text(json.dumps({str(k): v for k, v in results.items()}, indent=1))
    print(f"raw figures: {out}", file=sys.stderr)
    if not partial:
        readme = HERE / "README.md"
        text = readme.read_text()
        readme.write_text(
            re.sub(r"(<!-- results -->\n).*?(<!-- /results -->)", lambda m: m[1] + report + m[2], text, flags=re.S)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
