"""leases, lag: a consumer's lease table (the KCL's layout, in DynamoDB) as a table.

lag's "behind" is MillisBehindLatest from one GetRecords of one record just after the lease's
checkpoint: the time between the checkpoint and the shard's tip, as the KCL reports it. The
difference of two sequence numbers is no record count (they are not dense), and counting the
records behind would mean reading them all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from rich.table import Table

import aiokinesis
from aiokinesis.leases import LATEST, SHARD_END, TRIM_HORIZON, Lease

from ._context import Context, shown

_CONCURRENT = 8
"""Shards whose lag is asked at once (two calls each; a shard allows 5 reads a second)."""


async def _read_table(context: Context, kinesis: aiokinesis.Client, table: str) -> list[Lease]:
    leases = aiokinesis.DynamoDBLeases(table, endpoint_url=context.args.dynamodb_endpoint_url, create_table=False)
    kinesis.attach_leases(leases)
    await leases.prepare()
    return sorted(await leases.list_leases(), key=lambda lease: lease.key)


def _row(lease: Lease) -> dict[str, Any]:
    return {
        "shard_id": lease.key,
        "owner": lease.owner,
        "counter": lease.counter,
        "checkpoint": lease.checkpoint,
        "sub_sequence_number": lease.sub_sequence_number,
        "owner_switches": lease.owner_switches,
        "parents": list(lease.parents),
        "children": list(lease.children),
    }


def _table(*columns: str) -> Table:
    table = Table(*columns, box=None, header_style="bold")
    for column in table.columns[2:]:
        column.justify = "right"
    table.columns[3].justify = "left"  # checkpoint: a 56-digit number or a sentinel
    return table


async def leases(context: Context) -> int:
    table = context.args.table
    async with context.client() as kinesis:
        rows = [_row(lease) for lease in await _read_table(context, kinesis, table)]
    if context.json:
        context.emit({"table": table, "leases": rows})
        return 0
    if not rows:
        context.out.print(f"no leases in {table}", markup=False)
        return 0
    out = _table("shard", "owner", "counter", "checkpoint", "owner switches", "parents")
    for r in rows:
        parents = ", ".join(r["parents"]) or "-"
        out.add_row(
            r["shard_id"], shown(r["owner"]), str(r["counter"]), r["checkpoint"], str(r["owner_switches"]), parents
        )
    context.out.print(out)
    return 0


async def _behind(kinesis: aiokinesis.Client, stream: str, lease: Lease) -> tuple[int | None, str | None]:
    """(MillisBehindLatest after the checkpoint, why there is none): None for a lease at LATEST
    (it starts at the tip) or at SHARD_END (done)."""
    if lease.checkpoint in (LATEST, SHARD_END):
        return None, None
    if lease.checkpoint == TRIM_HORIZON:
        position = aiokinesis.StartingPosition.trim_horizon()
    else:
        position = aiokinesis.StartingPosition.after_sequence_number(lease.checkpoint)
    try:
        iterator = await kinesis.get_shard_iterator(
            stream_name=stream,
            shard_id=lease.key,
            shard_iterator_type=position.type,
            starting_sequence_number=position.sequence_number,
        )
        if iterator.shard_iterator is None:
            return None, "no shard iterator"
        out = await kinesis.get_records(shard_iterator=iterator.shard_iterator, limit=1)
    except aiokinesis.ServiceError as exc:  # a shard gone past retention, a checkpoint of another stream
        if exc.retryable:
            raise
        return None, exc.code
    return out.millis_behind_latest, None


async def lag(context: Context) -> int:
    args = context.args
    gate = asyncio.Semaphore(_CONCURRENT)
    async with context.client() as kinesis:
        found = await _read_table(context, kinesis, args.leases)

        async def one(lease: Lease) -> tuple[int | None, str | None]:
            async with gate:
                return await _behind(kinesis, args.stream, lease)

        behind = await asyncio.gather(*(one(lease) for lease in found))
    rows = [
        {**_row(lease), "millis_behind_latest": millis, "error": error}
        for lease, (millis, error) in zip(found, behind, strict=True)
    ]
    if context.json:
        context.emit({"stream": args.stream, "table": args.leases, "shards": rows})
        return 0
    if not rows:
        context.out.print(f"no leases in {args.leases}", markup=False)
        return 0
    out = _table("shard", "owner", "counter", "checkpoint", "behind (ms)")
    for r in rows:
        millis = r["millis_behind_latest"]
        shown_behind = r["error"] or ("done" if r["checkpoint"] == SHARD_END else shown(millis))
        shown_behind = f"{millis:,}" if isinstance(millis, int) else shown_behind
        out.add_row(r["shard_id"], shown(r["owner"]), str(r["counter"]), r["checkpoint"], shown_behind)
    context.out.print(out)
    return 0


COMMANDS: dict[str, Callable[[Context], Awaitable[int]]] = {"leases": leases, "lag": lag}
