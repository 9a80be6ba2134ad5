"""Enhanced fan-out figures (issue #11): client CPU per record and connections, and put-to-delivery latency.

    bench/.venv/bin/python bench/fanout.py [--shards 100,1000] [--backlog 100] [--repetitions 3]
                                           [--only drain,latency] [--latency-seconds 20] [--rate 200]

(bench/.venv as bench/run.sh makes it, plus h2: `bench/.venv/bin/pip install -e '.[http2]'`.)

drain: for each shard count N, a fresh aiokinesis.testing server process (limits off, 127.0.0.1,
shard limit raised to N) with `backlog` records of 100 bytes on every shard, read from
TRIM_HORIZON by a fresh client process per case: aiokinesis's consumer with enhanced_fan_out over
HTTP/2 and over HTTP/1.1, aiobotocore's raw subscribe_to_shard on every shard, and aiokinesis's
polling consumer for reference. Repetitions are interleaved (every case once, then again);
figures are medians. The server's CPU is shown for context, never counted in the client's.

latency: one server (limits on) with 4 shards, one producer putting `rate` records a second with
their put time in the data, a polling consumer (default ReaderConfig) and an enhanced fan-out
consumer reading them at once; now - put time per record, p50/p99.

Results go to bench/results-fanout.json (gitignored); a Markdown table is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results-fanout.json"
PYTHON = sys.executable
CONTENDERS = {
    "efo-h2": "aiokinesis, enhanced fan-out, HTTP/2",
    "efo-h1": "aiokinesis, enhanced fan-out, HTTP/1.1",
    "aiobotocore": "aiobotocore 3.10.0 subscribe_to_shard (HTTP/1.1)",
    "polling": "aiokinesis, polling (GetRecords), for reference",
}
TICK = os.sysconf("SC_CLK_TCK")


class Server:
    """bench/fanout_server.py in its own process, stopped by its PID."""

    def __init__(self, shards: int, backlog: int, *, limits: bool) -> None:
        command = [PYTHON, str(HERE / "fanout_server.py"), "--shards", str(shards), "--backlog", str(backlog)]
        command += ["--limits"] if limits else []
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(10)
            raise RuntimeError(f"the server exited ({self.process.returncode}) before it listened")
        self.endpoint: str = json.loads(line)["endpoint"]

    def cpu(self) -> float:
        """The server process's CPU seconds so far (user + system)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def client(*args: str, timeout: float) -> subprocess.Popen[str]:
    return subprocess.Popen([PYTHON, str(HERE / "fanout_client.py"), *args], stdout=subprocess.PIPE, text=True)


def result_of(process: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    out, _ = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
    answer: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return answer


def drain_case(contender: str, shards: int, backlog: int, idle: float) -> dict[str, Any]:
    server = Server(shards, backlog, limits=False)
    try:
        before = server.cpu()
        process = client(
            "drain", "--contender", contender, "--endpoint", server.endpoint,
            "--shards", str(shards), "--backlog", str(backlog), "--idle", str(idle),
            timeout=600,
        )  # fmt: skip
        figures = result_of(process, 600)
        figures["server_cpu"] = server.cpu() - before
        return figures
    finally:
        server.stop()


def run_drain(sizes: list[int], backlog: int, repetitions: int, idle: float) -> list[dict[str, Any]]:
    runs: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for repetition in range(repetitions):
        for shards in sizes:
            for contender in CONTENDERS:
                started = time.perf_counter()
                figures = drain_case(contender, shards, backlog, idle)
                runs.setdefault((shards, contender), []).append(figures)
                print(
                    f"  [{repetition + 1}/{repetitions}] {shards} shards {contender}: "
                    f"{figures['cpu'] / figures['records'] * 1e6:.1f} µs/record, {figures['connections']} connections, "
                    f"{time.perf_counter() - started:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
    rows = []
    for (shards, contender), samples in runs.items():
        per_record = sorted(s["cpu"] / s["records"] * 1e6 for s in samples)
        idle_shares = [s["idle_cpu_share"] * 100 for s in samples if s["idle_cpu_share"] is not None]
        rows.append(
            {
                "shards": shards,
                "contender": contender,
                "records": samples[0]["records"],
                "repetitions": len(samples),
                "cpu_us_per_record": statistics.median(per_record),
                "cpu_us_per_record_min": per_record[0],
                "cpu_us_per_record_max": per_record[-1],
                "connections": statistics.median(s["connections"] for s in samples),
                "h2_connections_opened": samples[0].get("h2_opened"),
                "wall_s": statistics.median(s["wall"] for s in samples),
                "idle_cpu_percent": statistics.median(idle_shares) if idle_shares else None,
                "rss_mb": statistics.median(s["rss_mb"] for s in samples),
                "server_cpu_s": statistics.median(s["server_cpu"] for s in samples),
                "samples": samples,
            }
        )
    return rows


def run_latency(seconds: float, rate: float, warmup: float) -> list[dict[str, Any]]:
    server = Server(4, 0, limits=True)
    try:
        endpoint = server.endpoint
        timeout = warmup + seconds + 60
        readers = [
            client("latency", "--mode", mode, "--endpoint", endpoint, "--timeout", str(timeout), timeout=timeout)
            for mode in ("polling", "efo")
        ]
        time.sleep(2.0)  # both readers imported and started; warm-up records are not measured anyway
        producer = client(
            "produce", "--endpoint", endpoint, "--rate", str(rate), "--seconds", str(seconds), "--warmup", str(warmup),
            timeout=timeout,
        )  # fmt: skip
        produced = result_of(producer, timeout)
        rows = [result_of(reader, timeout) for reader in readers]
        for row in rows:
            row["produced"] = produced
        return rows
    finally:
        server.stop()


def number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def tables(result: dict[str, Any]) -> str:
    lines = [f"Run {result['when']} on {result['machine']}; {result['note']}", ""]
    if result.get("drain"):
        lines += [
            "| shards | contender | CPU µs/record median (min-max) | connections | wall s | idle CPU % of a core "
            "| peak RSS MB | server CPU s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in result["drain"]:
            lines.append(
                f"| {row['shards']} | {CONTENDERS[row['contender']]} | {number(row['cpu_us_per_record'])} "
                f"({number(row['cpu_us_per_record_min'])}-{number(row['cpu_us_per_record_max'])}) "
                f"| {row['connections']:g} | {number(row['wall_s'], 2)} | {number(row['idle_cpu_percent'])} "
                f"| {row['rss_mb']:.0f} | {number(row['server_cpu_s'])} |"
            )
        lines.append("")
    if result.get("latency"):
        lines += ["| consumer | records | p50 ms | p90 ms | p99 ms | max ms |", "|---|---|---|---|---|---|"]
        for row in result["latency"]:
            name = "polling, default ReaderConfig" if row["mode"] == "polling" else "enhanced fan-out (HTTP/2)"
            lines.append(
                f"| {name} | {row['records']:,} | {number(row['p50_ms'])} | {number(row['p90_ms'])} "
                f"| {number(row['p99_ms'])} | {number(row['max_ms'])} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", default="100,1000", help="shard counts, comma-separated")
    parser.add_argument("--backlog", type=int, default=100, help="records of 100 bytes on every shard")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of idle subscriptions measured after")
    parser.add_argument("--only", default="drain,latency")
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=200.0, help="records a second put over the 4 shards")
    args = parser.parse_args()
    only = set(args.only.split(","))
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "note": f"load average at start {os.getloadavg()[0]:.1f} (a shared machine: compare rows, not runs)",
        "settings": vars(args),
    }
    if "drain" in only:
        sizes = [int(n) for n in args.shards.split(",")]
        result["drain"] = run_drain(sizes, args.backlog, args.repetitions, args.idle)
    if "latency" in only:
        result["latency"] = run_latency(args.latency_seconds, args.rate, warmup=3.0)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(tables(result))


if __name__ == "__main__":
    main()
