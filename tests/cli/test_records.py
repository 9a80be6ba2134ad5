"""put and tail, run as the real command: round trips, failures, KPL aggregates, the progress bar
under a pseudo-terminal, and Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pty
import re
import signal
import threading
from collections.abc import AsyncIterator

import aiokinesis
from aiokinesis.testing import Fault, FaultKind, KinesisServer
from tests.cli.conftest import BOUND, cli_env, run_cli, started, stop


async def test_put_lines_then_tail_them_in_every_decoding(kinesis: aiokinesis.Client, endpoint: list[str]) -> None:
    lines = [f'{{"n": {i}, "id": "k{i % 3}"}}' for i in range(30)]
    put = await run_cli("put", "orders", "--key-field", "id", *endpoint, stdin="\n".join(lines).encode() + b"\n\n")
    assert put.code == 0, put.stderr
    assert re.fullmatch(
        r"put 30 of 30 records to orders \(0\.00 MiB\) in [\d.]+ s, [\d,]+ records/s, 0 retries\n", put.stdout
    )

    tailed = await run_cli("tail", "orders", "--output", "json", "--decode", "json", *endpoint)
    assert tailed.code == 0, tailed.stderr
    records = [json.loads(line) for line in tailed.stdout.splitlines()]
    assert sorted(r["data"]["n"] for r in records) == list(range(30))
    assert {r["data"]["id"] == r["partition_key"] for r in records} == {True}
    assert list(records[0]) == [
        "shard_id", "sequence_number", "sub_sequence_number", "partition_key", "explicit_hash_key", "arrival",
        "aggregated", "data",
    ]  # fmt: skip
    # each key's records in the order they were put
    for key in ("k0", "k1", "k2"):
        assert [r["data"]["n"] for r in records if r["partition_key"] == key] == [
            i for i in range(30) if f"k{i % 3}" == key
        ]

    shard = records[0]["shard_id"]
    as_text = await run_cli("tail", "orders", "--shard", shard, *endpoint)
    assert as_text.code == 0, as_text.stderr
    assert as_text.stdout.splitlines() == [lines[r["data"]["n"]] for r in records if r["shard_id"] == shard]
    first = next(r for r in records if r["shard_id"] == shard)
    as_hex = await run_cli(
        "tail", "orders", "--shard", shard, "--from", first["sequence_number"], "-n", "1", "--decode", "hex", *endpoint
    )
    assert as_hex.stdout == lines[first["data"]["n"]].encode().hex() + "\n"
    pretty = await run_cli(
        "tail", "orders", "--from", "trim-horizon", "-n", "1", "--decode", "json", "--meta", *endpoint
    )
    head, *body = pretty.stdout.splitlines()
    assert re.fullmatch(r"# shardId-00000000000[01] \d+ key=k[012]", head)
    assert (body[0], body[1][:7], body[-1]) == ("{", '  "n": ', "}")


async def test_a_record_that_cannot_be_put_is_reported_and_the_others_are_sent(
    kinesis: aiokinesis.Client, endpoint: list[str]
) -> None:
    text = b"first\n" + b"x" * (1024 * 1024 + 1) + b"\nthird\n"
    put = await run_cli("put", "one", "--output", "json", *endpoint, stdin=text)
    assert put.code == 1
    summary = json.loads(put.stdout)
    assert (summary["records"], summary["sent"], summary["failed"], summary["interrupted"]) == (3, 2, 1, False)
    assert [f["line"] for f in summary["failures"]] == [2]
    assert "above the stream's maximum record size of 1048576 bytes" in summary["failures"][0]["error"]
    assert put.stderr.startswith("aiokinesis put: line 2: invalid data: 1048593 bytes with its partition key")
    shard = "shardId-000000000000"
    out = await kinesis.get_shard_iterator(stream_name="one", shard_id=shard, shard_iterator_type="TRIM_HORIZON")
    assert out.shard_iterator is not None
    got = await kinesis.get_records(shard_iterator=out.shard_iterator)
    assert [r.data for r in got.records] == [b"first", b"third"]


async def test_tail_splits_kpl_aggregates(kinesis: aiokinesis.Client, endpoint: list[str]) -> None:
    async with kinesis.producer("one", aggregate=True) as producer:
        receipts = [await producer.put(f"user-{i}".encode(), partition_key=f"key-{i}") for i in range(20)]
    assert len({(await r).sequence_number for r in receipts}) == 1  # one aggregate on the wire
    tailed = await run_cli("tail", "one", "--output", "json", *endpoint)
    records = [json.loads(line) for line in tailed.stdout.splitlines()]
    assert [(r["data"], r["partition_key"], r["sub_sequence_number"], r["aggregated"]) for r in records] == [
        (f"user-{i}", f"key-{i}", i, True) for i in range(20)
    ]


class Terminal:
    """The master side of a pseudo-terminal, drained by a thread (a full terminal would block the
    command), with what it showed kept, escape codes removed."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self.shown = ""
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._loop = asyncio.get_running_loop()
        self._more = asyncio.Event()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: every slave side is closed, the command has exited
                return
            if not chunk:
                return
            self.shown += re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", chunk.decode(errors="replace"))
            self._loop.call_soon_threadsafe(self._more.set)

    def start(self) -> None:
        os.close(self.slave)
        self._thread.start()

    async def wait_for(self, pattern: str) -> str:
        async with asyncio.timeout(BOUND):
            while not re.search(pattern, self.shown):
                self._more.clear()
                if not re.search(pattern, self.shown):
                    await self._more.wait()
        return self.shown

    def close(self) -> None:
        self._thread.join(BOUND)
        os.close(self.master)


@contextlib.asynccontextmanager
async def spawn(*args: str, terminal: Terminal | None = None) -> AsyncIterator[asyncio.subprocess.Process]:
    """The command with stdin and stdout on pipes, and stderr on `terminal` if given."""
    stderr = terminal.slave if terminal is not None else asyncio.subprocess.PIPE
    async with started(*args, stderr=stderr, env=cli_env(TERM="xterm-256color", COLUMNS="160")) as process:
        if terminal is not None:
            terminal.start()
        try:
            yield process
        finally:
            if terminal is not None:
                await stop(process)  # first: the terminal's reader ends when the command has
                terminal.close()


async def test_put_shows_a_progress_bar_on_a_terminal_and_ctrl_c_sends_what_was_read(endpoint: list[str]) -> None:
    terminal = Terminal()
    async with spawn("put", "orders", *endpoint, terminal=terminal) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(b"".join(b"line %d\n" % i for i in range(5)))
        await process.stdin.drain()
        shown = await terminal.wait_for(r"\b5 records +\d[\d,]* records/s +[\d.]+ MiB/s +0 retries")
        assert "put orders" in shown
        process.send_signal(signal.SIGINT)  # stdin stays open: only Ctrl-C ends the input
        async with asyncio.timeout(BOUND):
            out = await process.stdout.read()
            code = await process.wait()
    assert code == 130
    assert re.fullmatch(
        r"interrupted: put 5 of 5 records to orders \(0\.00 MiB\) in [\d.]+ s, [\d,]+ records/s, 0 retries; "
        r"the rest of the input was not read\n",
        out.decode(),
    )


async def test_ctrl_c_stops_tail_follow_after_its_first_record(kinesis: aiokinesis.Client, endpoint: list[str]) -> None:
    async with spawn("tail", "one", "--follow", "--from", "trim-horizon", "--output", "json", *endpoint) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        await kinesis.put_record(stream_name="one", data=b"hello", partition_key="k")
        async with asyncio.timeout(BOUND):
            first = json.loads(await process.stdout.readline())
        assert first["data"] == "hello"
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(BOUND):
            rest, err = await process.stdout.read(), await process.stderr.read()
            code = await process.wait()
    assert (code, rest) == (130, b"")
    assert err.decode() == "aiokinesis tail: interrupted after 1 records\n"


async def test_tail_follow_keeps_following_new_records(kinesis: aiokinesis.Client, endpoint: list[str]) -> None:
    async with spawn("tail", "orders", "-f", "-n", "3", *endpoint) as process:
        assert process.stdout is not None
        got: list[str] = []
        async with asyncio.timeout(BOUND):
            while len(got) < 3:  # put until the tail (started at latest) has seen three records
                await kinesis.put_record(stream_name="orders", data=f"r{len(got)}".encode(), partition_key="k")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.5):
                        got.append((await process.stdout.readline()).decode().strip())
            code = await process.wait()
    assert code == 0
    assert len(got) == 3
    assert all(line.startswith("r") for line in got)


async def test_a_second_ctrl_c_abandons_the_flush_and_reports_what_was_not_sent(
    server: KinesisServer, endpoint: list[str]
) -> None:
    server.inject(Fault(kind=FaultKind.THROTTLE, operation="PutRecords", times=None))  # nothing ever lands
    terminal = Terminal()
    async with spawn("put", "orders", *endpoint, terminal=terminal) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(b"".join(b"line %d\n" % i for i in range(5)))
        await process.stdin.drain()
        await terminal.wait_for(r"\b0 records .* [1-9][\d,]* retries")
        process.send_signal(signal.SIGINT)  # stop reading; the flush goes on retrying
        await terminal.wait_for(r"stopping: sending what was read \(Ctrl-C again to give up on it\)")
        process.send_signal(signal.SIGINT)  # give up on it
        async with asyncio.timeout(BOUND):
            out = await process.stdout.read()
            code = await process.wait()
    assert code == 130
    assert re.fullmatch(
        r"interrupted: put 0 of 5 records to orders \(0\.00 MiB\) in [\d.]+ s, 0 records/s, [1-9][\d,]* retries; "
        r"5 not sent; the rest of the input was not read\n",
        out.decode(),
    )
