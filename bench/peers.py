"""aiokinesis beside the peers users would pick instead, in one run against one stub.

    bench/peers.sh                   # makes bench/.venvs/*, then runs this (~15 min)
    bench/peers.sh --quick           # a tenth of the work, one repetition (tracked files untouched)
    bench/peers.sh --only consumer,fanin1000 --repetitions 5
    bench/peers.sh --only consumer,get_records --contenders aiokinesis-unpaced:asyncio,floor --ab before

Each measurement is a fresh process (bench/peers_worker.py) run by the python of its
contender's venv; the stub (bench/peers_stub.py) runs in a process of its own on 127.0.0.1.
Repetitions are interleaved, figures are medians with min-max, ratios are to aiokinesis's
figure of the same run. A whole run writes bench/results-peers.json and the tables between
the peers markers of bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from run import free_port, wait_for_port

HERE = Path(__file__).resolve().parent
VENVS = HERE / ".venvs"
# Which venv runs which contender: aiobotocore pins botocore below constraints.txt, and
# async-kinesis and aiokpl are built on aiobotocore.
VENV_OF = {
    "aiokinesis": "aiokinesis",
    "aiokinesis-unpaced": "aiokinesis",
    "aiokinesis-unpaced-gcfreeze": "aiokinesis",
    "aiokinesis-unpaced-arrivals": "aiokinesis",
    "floor": "aiokinesis",
    "floor-signing-each": "aiokinesis",
    "floor_unsigned": "aiokinesis",
    "none": "aiokinesis",
    "aiobotocore": "aiobotocore",
    "async-kinesis": "aiobotocore",
    "aiokpl": "aiobotocore",
    "capo": "capo",
}
LABELS = {
    "floor": "floor (aiohttp+orjson, botocore SigV4 each call; in fan-in signed once)",
    "floor_unsigned": "floor, headers signed once",
    "aiokinesis-unpaced": "aiokinesis, pacing off",
    "aiokinesis-unpaced-gcfreeze": "aiokinesis, pacing off, gc.freeze() after start-up",
    "aiokinesis-unpaced-arrivals": "aiokinesis, pacing off, every arrival time read",
    "floor-signing-each": "floor signing each call (aiokinesis's SigV4 signer)",
    "capo": "capo-kinesis",
}
# Stubs: (shards, records per GetRecords). aiokpl checks each result's shard against its own
# prediction, and the stub names shard 0 for every record: it gets the one-shard stub.
STUBS = {"default": (4, 1000), "one": (1, 1000), "fanin1000": (1000, 0)}
CALLS = [("put_records", 200), ("get_records", 100), ("put_record", 2000)]
CALL_CONTENDERS = [
    ("aiokinesis", "asyncio"),
    ("aiokinesis", "uvloop"),
    ("aiobotocore", "asyncio"),
    ("capo", "asyncio"),
    ("floor", "asyncio"),
    ("floor_unsigned", "asyncio"),
]
PRODUCERS = [  # (contender, loop, stub, records)
    ("aiokinesis", "asyncio", "default", 20_000),
    ("aiokinesis", "uvloop", "default", 20_000),
    ("aiokinesis-unpaced", "asyncio", "default", 100_000),
    ("aiokinesis-unpaced", "asyncio", "one", 100_000),
    ("async-kinesis", "asyncio", "default", 20_000),
    ("aiokpl", "asyncio", "one", 20_000),
]
CONSUMERS = [
    ("aiokinesis", "asyncio", "default", 40_000),
    ("aiokinesis", "uvloop", "default", 40_000),
    ("aiokinesis-unpaced", "asyncio", "default", 300_000),
    ("aiokinesis-unpaced", "uvloop", "default", 300_000),
    ("aiokinesis-unpaced-gcfreeze", "asyncio", "default", 300_000),
    ("aiokinesis-unpaced-arrivals", "asyncio", "default", 300_000),
    ("async-kinesis", "asyncio", "default", 40_000),
]
FAN_IN = [
    ("aiokinesis", "asyncio"),
    ("aiokinesis", "uvloop"),
    ("floor", "asyncio"),
    ("floor", "uvloop"),
    ("floor-signing-each", "asyncio"),
]


@dataclass(frozen=True)
class Case:
    contender: str
    workload: str
    loop: str = "asyncio"
    concurrency: int = 1
    calls: int = 1
    stub: str = "default"

    @property
    def key(self) -> str:
        return f"{self.workload}|{self.contender}|{self.loop}|{self.concurrency}|{self.stub}"

    @property
    def label(self) -> str:
        base, _, venv = self.contender.partition("@")
        name = LABELS.get(base, base)
        return name + (", uvloop" if self.loop == "uvloop" else "") + (f" [{venv}]" if venv else "")

    @property
    def python(self) -> Path:
        """`aiokinesis@before` runs aiokinesis from bench/.venvs/before (an A/B run's other side)."""
        base, _, venv = self.contender.partition("@")
        return VENVS / (venv or VENV_OF[base]) / "bin" / "python"


def cases(scale: float) -> list[Case]:
    found = [
        Case(name, workload, loop, conc, max(64, int(calls * scale)))
        for workload, calls in CALLS
        for name, loop in CALL_CONTENDERS
        for conc in (1, 64)
    ]
    found += [Case(name, "producer", loop, 1, int(n * scale), stub) for name, loop, stub, n in PRODUCERS]
    found += [Case(name, "consumer", loop, 1, int(n * scale), stub) for name, loop, stub, n in CONSUMERS]
    seconds = 8 if scale >= 1 else 3
    found += [Case(name, "fanin1000", loop, 1, seconds, "fanin1000") for name, loop in FAN_IN]
    found += [Case(name, "cold") for name in ("none", "aiokinesis", "aiobotocore", "capo")]
    found += [Case(name, "import") for name in ("aiokinesis", "aiobotocore", "capo")]
    return found


@contextlib.contextmanager
def stub(shards: int, records_per_get: int) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, str(HERE / "peers_stub.py"), "--port", str(port), "--shards", str(shards)]
    process = subprocess.Popen([*command, "--records-per-get", str(records_per_get)])
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def measure(case: Case, endpoint: str) -> dict[str, float]:
    command = [
        str(case.python), str(HERE / "peers_worker.py"), "--contender", case.contender.partition("@")[0],
        "--workload", case.workload,
        "--endpoint", endpoint, "--concurrency", str(case.concurrency), "--calls", str(case.calls),
        "--loop", case.loop,
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{case.key} failed ({process.returncode})")
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    result["process_cpu"] = usage.ru_utime + usage.ru_stime  # the whole process, start-up included
    return result


def spread(values: list[float], scale: float, digits: int = 0) -> str:
    med = statistics.median(values) * scale
    return f"{med:,.{digits}f} ({min(values) * scale:,.{digits}f}-{max(values) * scale:,.{digits}f})"


Results = dict[Case, list[dict[str, float]]]


def med(runs: list[dict[str, float]], field: str) -> float:
    return statistics.median(r[field] for r in runs)


def per_call_table(results: Results) -> list[str]:
    def cpu(case: Case) -> float:
        return statistics.median(r["cpu"] / r["calls"] for r in results.get(case, [{"cpu": float("nan"), "calls": 1}]))

    lines = [
        "| workload | contender | concurrency | CPU µs/call median (min-max) | calls/s | peak RSS MB "
        "| x aiokinesis | x floor unsigned |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case, runs in results.items():
        if case.workload not in dict(CALLS):
            continue
        ours = Case("aiokinesis", case.workload, "asyncio", case.concurrency, case.calls)
        floor = Case("floor_unsigned", case.workload, "asyncio", case.concurrency, case.calls)
        rate = statistics.median(r["calls"] / r["wall"] for r in runs)
        per_call = spread([r["cpu"] / r["calls"] for r in runs], 1e6)
        lines.append(
            f"| {case.workload} | {case.label} | {case.concurrency} | {per_call} "
            f"| {rate:,.0f} | {med(runs, 'rss_mb'):.0f} | {cpu(case) / cpu(ours):.2f} | {cpu(case) / cpu(floor):.2f} |"
        )
    return lines


def whole_table(results: Results, workload: str) -> list[str]:
    def per_record(runs: list[dict[str, float]]) -> list[float]:
        return [r["cpu"] / r["records"] for r in runs]

    first = next((c for c in results if c.workload == workload), None)
    if first is None:
        return []
    ours = statistics.median(per_record(results[first]))
    lines = [
        f"| {workload} | stub shards | records a run | CPU µs/record median (min-max) | records/s per core "
        "| records/s (wall) | peak RSS MB | x aiokinesis |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case, runs in results.items():
        if case.workload == workload:
            mine = statistics.median(per_record(runs))
            lines.append(
                f"| {case.label} | {STUBS[case.stub][0]} | {case.calls:,} | {spread(per_record(runs), 1e6, 2)} "
                f"| {1 / mine:,.0f} | {statistics.median(r['records'] / r['wall'] for r in runs):,.0f} "
                f"| {med(runs, 'rss_mb'):.0f} | {mine / ours:.2f} |"
            )
    return lines


def fan_in_table(results: Results) -> list[str]:
    def share(contender: str, loop: str) -> float:
        runs = results.get(Case(contender, "fanin1000", loop, 1, seconds, "fanin1000"))
        return med(runs, "cpu_share") if runs else float("nan")

    seconds = next((c.calls for c in results if c.workload == "fanin1000"), 0)
    lines = [
        "| 1000 shards, each read once a second | CPU share of one core median (min-max) | loop lag p50 ms "
        "| loop lag p99 ms | peak RSS MB | x floor signed once, same loop | x floor signing each call |",
        "|---|---|---|---|---|---|---|",
    ]
    for case, runs in results.items():
        if case.workload == "fanin1000":
            mine = med(runs, "cpu_share")
            lines.append(
                f"| {case.label} | {spread([r['cpu_share'] for r in runs], 100, 1)} % | {med(runs, 'lag_p50_ms'):.1f} "
                f"| {med(runs, 'lag_p99_ms'):.1f} | {med(runs, 'rss_mb'):.0f} | {mine / share('floor', case.loop):.2f} "
                f"| {mine / share('floor-signing-each', 'asyncio'):.2f} |"
            )
    return lines


def start_table(results: Results) -> list[str]:
    cold = {c.contender: runs for c, runs in results.items() if c.workload == "cold"}
    if not cold:
        return []
    imports = {c.contender: runs for c, runs in results.items() if c.workload == "import"}
    empty = med(cold["none"], "process_cpu") if "none" in cold else 0.0
    lines = [
        "| contender | import CPU ms median (min-max) | fresh process: import, client, one PutRecord, CPU ms "
        "| the same less an empty process's | x aiokinesis |",
        "|---|---|---|---|---|",
    ]
    ours = med(cold["aiokinesis"], "process_cpu") - empty if "aiokinesis" in cold else 0.0
    for name, runs in cold.items():
        imported = spread([r["cpu"] for r in imports[name]], 1e3, 1) if name in imports else "-"
        net = med(runs, "process_cpu") - empty
        ratio = f"{net / ours:.2f}" if name != "none" and ours else "-"
        label = "empty process (asyncio loop, no library)" if name == "none" else Case(name, "cold").label
        whole = spread([r["process_cpu"] for r in runs], 1e3, 1)
        lines.append(f"| {label} | {imported} | {whole} | {net * 1e3:,.1f} | {ratio} |")
    return lines


def versions() -> str:
    found = []
    for venv in sorted(VENVS.iterdir()):
        out = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "freeze"], capture_output=True, text=True)
        wanted = ("aiokinesis", "aiobotocore==", "botocore==", "capo-kinesis", "async-kinesis", "aiokpl", "uvloop")
        pins = [line for line in out.stdout.split() if line.startswith(wanted)]
        found.append(f"{venv.name}: " + ", ".join(pins or ["aiokinesis (editable)"]))
    return "; ".join(found)


def report(results: Results) -> str:
    head = (
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the end. "
        f"Venvs: {versions()}."
    )
    sections = [
        [head],
        per_call_table(results),
        start_table(results),
        whole_table(results, "producer"),
        whole_table(results, "consumer"),
        fan_in_table(results),
    ]
    kept = [s for s in sections if len(s) > 2 or s is sections[0]]  # a table without rows is left out
    return "\n\n".join("\n".join(s) for s in kept)


def load(path: Path) -> Results:
    """Raw figures written by an earlier run, to render its tables again."""
    results: Results = {}
    for key, runs in json.loads(path.read_text()).items():
        workload, contender, loop, concurrency, stub_name = key.split("|")
        results[Case(contender, workload, loop, int(concurrency), int(runs[0]["calls"]), stub_name)] = runs
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a tenth of the work, 1 repetition")
    parser.add_argument("--only", default="", help="workloads to run, comma-separated (tracked files untouched)")
    parser.add_argument(
        "--contenders",
        default="",
        help="contenders to run, comma-separated, each a name or name:loop (floor:asyncio) (tracked files untouched)",
    )
    parser.add_argument(
        "--ab", default="", help="a bench/.venvs entry: every aiokinesis case runs from it too, interleaved"
    )
    parser.add_argument("--out", type=Path, help="raw figures to this file (tracked files untouched)")
    parser.add_argument("--report", type=Path, help="render the tables of an earlier run's raw figures, run nothing")
    args = parser.parse_args()
    if args.report:
        print(report(load(args.report)))
        return 0
    scale, reps = (0.1, 1) if args.quick else (1.0, args.repetitions)
    only = set(filter(None, args.only.split(",")))
    contenders = set(filter(None, args.contenders.split(",")))
    chosen = [
        c
        for c in cases(scale)
        if (not only or c.workload in only)
        and (not contenders or c.contender in contenders or f"{c.contender}:{c.loop}" in contenders)
    ]
    if args.ab:
        ours = ("aiokinesis", "aiokinesis-unpaced", "aiokinesis-unpaced-gcfreeze", "aiokinesis-unpaced-arrivals")
        chosen = [
            v
            for c in chosen
            for v in [c] + ([replace(c, contender=f"{c.contender}@{args.ab}")] if c.contender in ours else [])
        ]
    partial = args.quick or bool(only) or bool(contenders) or args.out is not None or bool(args.ab)
    out = args.out or HERE / ("results-peers-partial.json" if partial else "results-peers.json")
    results: Results = {}
    with contextlib.ExitStack() as stack:
        needed = {c.stub for c in chosen}
        endpoints = {name: stack.enter_context(stub(*STUBS[name])) for name in STUBS if name in needed}
        for rep in range(reps):
            for case in chosen:
                print(f"[{rep + 1}/{reps}] {case.key}", file=sys.stderr)
                results.setdefault(case, []).append(measure(case, endpoints[case.stub]))
                out.write_text(json.dumps({case.key: runs for case, runs in results.items()}, indent=1))
    print(f"raw figures: {out}", file=sys.stderr)
    text = report(results)
    print(text)
    if not partial:
        readme = HERE / "README.md"
        marked = r"(<!-- peers -->\n).*?(<!-- /peers -->)"
        replaced = re.sub(marked, lambda m: m[1] + text + "\n" + m[2], readme.read_text(), flags=re.S)
        readme.write_text(replaced)
    return 0


if __name__ == "__main__":
    sys.exit(main())
