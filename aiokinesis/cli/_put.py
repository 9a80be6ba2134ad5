"""put: lines into a stream through the producer, a progress bar on a terminal, a summary at the end.

Every line's fate is tallied: sent (its receipt resolved), failed (reported with its line
number as it fails: too large, no key field, a record Kinesis kept refusing), or not sent (a
second Ctrl-C cancelled the flush). The first Ctrl-C stops reading and sends what was read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import stat
import sys
import time
from collections.abc import Iterator
from typing import Any

import orjson
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, Task, TextColumn
from rich.text import Text

import aiokinesis

from ._context import INTERRUPTED, Context
from ._lines import Lines

_MIB = 1024 * 1024
_BAR_EVERY = 256
"""Lines between two updates of the bar's position (the numbers beside it are read live)."""


class _Tally:
    """What became of each record: receipts are counted as they resolve, failures reported at once."""

    def __init__(self, context: Context) -> None:
        self._context = context
        self._pending: dict[int, tuple[aiokinesis.Receipt, int]] = {}
        self.records = self.sent = self.failed = self.not_sent = self.skipped = self.bytes_sent = 0
        self.failures: list[dict[str, Any]] = []

    def track(self, number: int, receipt: aiokinesis.Receipt, size: int) -> None:
        self.records += 1
        self._pending[number] = (receipt, size)
        receipt.add_done_callback(lambda _: self._settle(number))

    def fail(self, number: int, error: str) -> None:
        self.failed += 1
        self.failures.append({"line": number, "error": error})
        self._context.warn(f"line {number}: {error}")

    def _settle(self, number: int) -> None:
        entry = self._pending.pop(number, None)
        if entry is None:
            return
        receipt, size = entry
        if receipt.cancelled():
            self.not_sent += 1
            return
        error = receipt.exception()
        if error is None:
            self.sent += 1
            self.bytes_sent += size
        elif isinstance(error, aiokinesis.ProducerClosedError):
            self.not_sent += 1
        else:
            self.fail(number, " ".join(str(error).split()))

    def finish(self) -> None:
        """Count every receipt, resolved or not (a cancelled flush leaves some unresolved: not sent)."""
        for number, (receipt, _) in list(self._pending.items()):
            if receipt.done():
                self._settle(number)
            else:
                del self._pending[number]
                self.not_sent += 1


class _Stats(ProgressColumn):
    """records, records/s, MiB/s and retries, read from the producer's counters at each refresh."""

    def __init__(self, stats: aiokinesis.ProducerStats, tally: _Tally) -> None:
        super().__init__()
        self._stats = stats
        self._tally = tally
        self._started = time.monotonic()

    def render(self, task: Task) -> Text:
        elapsed = max(1e-6, time.monotonic() - self._started)
        s = self._stats
        text = (
            f"{s.records_put:,} records  {s.records_put / elapsed:,.0f} records/s  "
            f"{s.bytes_put / _MIB / elapsed:.2f} MiB/s  {s.retries + s.throttles:,} retries"
        )
        if self._tally.failed:
            text += f"  {self._tally.failed:,} failed"
        return Text(text)


@contextlib.contextmanager
def _progress(
    context: Context, producer: aiokinesis.Producer, tally: _Tally, total: int | None
) -> Iterator[Progress | None]:
    if context.args.no_progress or not context.err.is_terminal:
        yield None
        return
    columns = (SpinnerColumn(), TextColumn("put {task.description}"), BarColumn(), _Stats(producer.stats, tally))
    with Progress(*columns, console=context.err, redirect_stdout=False, redirect_stderr=False) as progress:
        yield progress


def _keyed(line: bytes, field: str) -> str:
    """The partition key a JSON line names in `field` (a string as is, anything else as JSON)."""
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(document, dict) or field not in document or document[field] is None:
        raise ValueError(f"no {field!r} field for the partition key (--key-field)")
    value = document[field]
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _open(path: str | None) -> tuple[int, int | None]:
    """The descriptor to read and, for a regular file, its size (the bar's length)."""
    fd = os.open(path, os.O_RDONLY) if path is not None else sys.stdin.fileno()
    info = os.fstat(fd)
    return fd, info.st_size if path is not None and stat.S_ISREG(info.st_mode) else None


async def put(context: Context) -> int:
    args = context.args
    fd, total = _open(args.file)
    lines = Lines(fd)
    context.stop.graceful = True
    context.stop.callbacks.append(lines.stop)
    context.stop.callbacks.append(
        lambda: context.warn("stopping: sending what was read (Ctrl-C again to give up on it)")
    )
    tally = _Tally(context)
    started = time.monotonic()
    retries = 0
    cancelled = False
    try:
        async with context.client() as kinesis:
            producer = kinesis.producer(args.stream, aggregate=args.aggregate or None)
            try:
                with _progress(context, producer, tally, total) as progress:
                    task = None if progress is None else progress.add_task(args.stream, total=total)
                    async with producer:
                        async for number, line in lines:
                            if progress is not None and task is not None and number % _BAR_EVERY == 0:
                                progress.update(task, completed=lines.bytes_read)
                            await _put_line(producer, tally, args, number, line)
                        if progress is not None and task is not None:
                            progress.update(task, completed=lines.bytes_read)
            finally:
                retries = producer.stats.retries + producer.stats.throttles
    except asyncio.CancelledError:
        if not context.stop.presses:
            raise
        current = asyncio.current_task()
        assert current is not None
        current.uncancel()  # a second Ctrl-C cancelled the flush: report, then exit 130
        cancelled = True
    finally:
        if args.file is not None:
            os.close(fd)
    tally.finish()
    interrupted = cancelled or context.stop.requested.is_set()
    _summary(context, tally, time.monotonic() - started, retries, interrupted)
    if interrupted:
        return INTERRUPTED
    return 1 if tally.failed else 0


async def _put_line(producer: aiokinesis.Producer, tally: _Tally, args: Any, number: int, line: bytes) -> None:
    if not line.strip():
        tally.skipped += 1
        return
    if args.key_field is not None:
        try:
            key = _keyed(line, args.key_field)
        except ValueError as exc:
            tally.records += 1
            tally.fail(number, str(exc))
            return
    else:
        key = args.partition_key or f"{random.getrandbits(64):016x}"
    try:
        receipt = await producer.put(line, key)
    except aiokinesis.ParamValidationError as exc:
        tally.records += 1
        tally.fail(number, str(exc))
        return
    tally.track(number, receipt, len(line) + len(key.encode()))


def _summary(context: Context, tally: _Tally, seconds: float, retries: int, interrupted: bool) -> None:
    stream = context.args.stream
    if context.json:
        context.emit(
            {
                "stream": stream,
                "records": tally.records,
                "sent": tally.sent,
                "failed": tally.failed,
                "not_sent": tally.not_sent,
                "skipped_empty_lines": tally.skipped,
                "bytes_sent": tally.bytes_sent,
                "retries": retries,
                "seconds": round(seconds, 3),
                "interrupted": interrupted,
                "failures": sorted(tally.failures, key=lambda f: f["line"]),
            }
        )
        return
    rate = tally.sent / seconds if seconds > 0 else 0.0
    text = (
        f"put {tally.sent:,} of {tally.records:,} records to {stream} ({tally.bytes_sent / _MIB:.2f} MiB) "
        f"in {seconds:.1f} s, {rate:,.0f} records/s, {retries:,} retries"
    )
    if tally.failed:
        text += f"; {tally.failed:,} failed"
    if tally.not_sent:
        text += f"; {tally.not_sent:,} not sent"
    if interrupted:
        text = f"interrupted: {text}; the rest of the input was not read"
    context.out.print(text, markup=False)
