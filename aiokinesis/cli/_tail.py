"""tail: a stream's records through the consumer (every shard, parents before children; polling, or
pushed through an enhanced fan-out consumer), or one shard through its reader; KPL aggregates come
out split.

Without --follow it stops once it has printed what the stream holds: every shard is read to its
end, or its last read came back caught up (MillisBehindLatest 0) with every batch printed. With
--follow it runs until Ctrl-C, which closes the consumer and exits 130.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import orjson

import aiokinesis

from ._context import INTERRUPTED, Context

_LOOK = 0.05
"""Seconds between looks at the shards' progress while waiting for a batch (without --follow)."""


def _start(context: Context) -> aiokinesis.StartingPosition:
    kind, value = context.args.start or (("latest", None) if context.args.follow else ("trim-horizon", None))
    if kind == "latest":
        return aiokinesis.StartingPosition.latest()
    if kind == "trim-horizon":
        return aiokinesis.StartingPosition.trim_horizon()
    if kind == "sequence":
        assert isinstance(value, str)
        return aiokinesis.StartingPosition.at_sequence_number(value)
    assert isinstance(value, datetime)
    return aiokinesis.StartingPosition.at_timestamp(value)


def _caught_up(shards: list[aiokinesis.ShardProgress]) -> bool:
    """Everything the stream held is printed: each shard ended, or read up to its tip with nothing pending.

    A shard not started yet waits for a parent that is still being read: not caught up."""
    return bool(shards) and all(
        p.ended or (p.started and p.millis_behind_latest == 0 and p.pending == 0) for p in shards
    )


async def _batches(
    context: Context, kinesis: aiokinesis.Client, start: aiokinesis.StartingPosition
) -> AsyncGenerator[list[aiokinesis.ShardRecord]]:
    """Batches of records until caught up (without --follow), the stream's end or Ctrl-C."""
    args = context.args
    stop = asyncio.ensure_future(context.stop.wait())
    try:
        if args.shard is not None:
            reader = kinesis.read_shard(args.stream, args.shard, start=start)
            racing = _race(context, reader.next_batch, lambda: reader.millis_behind_latest == 0, stop)
            async with contextlib.aclosing(racing):
                async for records in racing:
                    yield records
            if reader.ended and not context.json:
                children = ", ".join(c.shard_id for c in reader.child_shards or ()) or "none"
                context.warn(f"{args.shard} has ended; its children: {children}")
            return
        async with kinesis.consumer(args.stream, start=start, enhanced_fan_out=args.enhanced_fan_out) as consumer:

            async def next_batch() -> aiokinesis.Batch | None:
                return await anext(consumer, None)

            racing = _race(context, next_batch, lambda: _caught_up(consumer.progress()), stop)
            async with contextlib.aclosing(racing):
                async for records in racing:
                    yield records
    finally:
        stop.cancel()


async def _race(
    context: Context,
    next_batch: Any,
    caught_up: Any,
    stop: asyncio.Future[None],
) -> AsyncGenerator[list[aiokinesis.ShardRecord]]:
    """Each batch `next_batch()` gives, until it gives None, Ctrl-C, or (without --follow) `caught_up()`
    while the next batch is awaited (so every batch read before the tip was reached is out)."""
    follow = context.args.follow
    pending: asyncio.Future[Any] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(next_batch())
            await asyncio.wait({pending, stop}, timeout=None if follow else _LOOK, return_when="FIRST_COMPLETED")
            if pending.done():
                batch, pending = pending.result(), None
                if batch is None:
                    return
                yield batch.records
                continue
            if stop.done() or (not follow and caught_up()):
                return
    finally:
        if pending is not None:
            pending.cancel()
            await asyncio.wait({pending})


def _data(record: aiokinesis.ShardRecord, decode: str) -> Any:
    """The record's data as --decode says: text (invalid UTF-8 as escapes), hex, or parsed JSON
    (text when it is not JSON)."""
    if decode == "hex":
        return record.data.hex()
    text = record.data.decode("utf-8", "backslashreplace")
    if decode == "json":
        try:
            return orjson.loads(record.data)
        except orjson.JSONDecodeError:
            return text
    return text


def _document(record: aiokinesis.ShardRecord, decode: str) -> dict[str, Any]:
    arrival = record.approximate_arrival_timestamp
    return {
        "shard_id": record.shard_id,
        "sequence_number": record.sequence_number,
        "sub_sequence_number": record.sub_sequence_number,
        "partition_key": record.partition_key,
        "explicit_hash_key": record.explicit_hash_key,
        "arrival": None if arrival is None else arrival.isoformat(),
        "aggregated": record.aggregated,
        "data": _data(record, decode),
    }


def _write(context: Context, record: aiokinesis.ShardRecord) -> None:
    args = context.args
    if context.json:
        sys.stdout.write(orjson.dumps(_document(record, args.decode)).decode() + "\n")
        return
    if args.meta:
        sub = f"/{record.sub_sequence_number}" if record.aggregated else ""
        sys.stdout.write(f"# {record.shard_id} {record.sequence_number}{sub} key={record.partition_key}\n")
    data = _data(record, args.decode)
    if args.decode == "json" and not isinstance(data, str):
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(f"{data}\n")


async def tail(context: Context) -> int:
    args = context.args
    context.stop.graceful = True
    start = _start(context)
    printed = 0
    async with context.client() as kinesis, contextlib.aclosing(_batches(context, kinesis, start)) as batches:
        async for records in batches:
            for record in records:
                _write(context, record)
                printed += 1
                if args.max_records is not None and printed >= args.max_records:
                    break
            sys.stdout.flush()
            if args.max_records is not None and printed >= args.max_records:
                break
    if context.stop.requested.is_set():
        context.warn(f"interrupted after {printed:,} records")
        return INTERRUPTED
    return 0
