"""ls, describe, create, delete: the control plane, as tables and a shard tree."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from rich.table import Table
from rich.tree import Tree

import aiokinesis

from ._context import Context, shown

_KEYS = 2**128
_CONCURRENT = 8
"""DescribeStreamSummary calls of `ls` under way at once (AWS allows 20 a second per account)."""
_POLL = 1.0
"""Seconds between checks while waiting for a stream to be ACTIVE or gone."""
_MAX_WAIT = 600.0


def _summary(s: aiokinesis.StreamDescriptionSummary) -> dict[str, Any]:
    mode = s.stream_mode_details.stream_mode if s.stream_mode_details is not None else None
    return {
        "name": s.stream_name,
        "arn": s.stream_arn,
        "status": shown(s.stream_status),
        "mode": shown(mode) if mode is not None else None,
        "open_shards": s.open_shard_count,
        "retention_hours": s.retention_period_hours,
        "consumers": s.consumer_count,
        "encryption": shown(s.encryption_type) if s.encryption_type is not None else None,
        "created": s.stream_creation_timestamp.isoformat(),
    }


async def ls(context: Context) -> int:
    async with context.client() as kinesis:
        names = [name async for name in kinesis.paginate.list_streams()]
        gate = asyncio.Semaphore(_CONCURRENT)

        async def describe(name: str) -> dict[str, Any]:
            async with gate:
                out = await kinesis.describe_stream_summary(stream_name=name)
            return _summary(out.stream_description_summary)

        streams = await asyncio.gather(*(describe(name) for name in names))
    if context.json:
        context.emit({"streams": streams})
        return 0
    if not streams:
        context.out.print("no streams")
        return 0
    table = Table("stream", "status", "mode", "open shards", "retention", "consumers", box=None, header_style="bold")
    for s in streams:
        consumers = "-" if s["consumers"] is None else str(s["consumers"])
        retention = f"{s['retention_hours']} h"
        table.add_row(s["name"], s["status"], shown(s["mode"]), str(s["open_shards"]), retention, consumers)
    context.out.print(table)
    return 0


def _shard(shard: aiokinesis.Shard, children: dict[str, list[str]]) -> dict[str, Any]:
    keys, numbers = shard.hash_key_range, shard.sequence_number_range
    return {
        "shard_id": shard.shard_id,
        "parents": [p for p in (shard.parent_shard_id, shard.adjacent_parent_shard_id) if p],
        "children": children.get(shard.shard_id, []),
        "hash_range": {"start": keys.starting_hash_key, "end": keys.ending_hash_key},
        "open": numbers.ending_sequence_number is None,
        "starting_sequence_number": numbers.starting_sequence_number,
        "ending_sequence_number": numbers.ending_sequence_number,
    }


def _share(hash_range: dict[str, str]) -> str:
    low, high = int(hash_range["start"]), int(hash_range["end"])
    return f"keys {100 * low / _KEYS:.1f}%-{100 * (high + 1) / _KEYS:.1f}%"


async def describe(context: Context) -> int:
    name = context.args.stream
    async with context.client() as kinesis:
        summary = _summary((await kinesis.describe_stream_summary(stream_name=name)).stream_description_summary)
        listed = [shard async for shard in kinesis.paginate.list_shards(stream_name=name)]
        consumers = [
            {
                "name": c.consumer_name,
                "arn": c.consumer_arn,
                "status": shown(c.consumer_status),
                "created": c.consumer_creation_timestamp.isoformat(),
            }
            async for c in kinesis.paginate.list_stream_consumers(stream_arn=summary["arn"])
        ]
    children: dict[str, list[str]] = {}
    for shard in listed:
        for parent in (shard.parent_shard_id, shard.adjacent_parent_shard_id):
            if parent:
                children.setdefault(parent, []).append(shard.shard_id)
    shards = [_shard(shard, children) for shard in listed]
    if context.json:
        context.emit({"stream": summary, "shards": shards, "consumers": consumers})
        return 0
    _print_summary(context, summary, shards)
    _print_tree(context, summary["name"], shards)
    if consumers:
        table = Table("consumer", "status", "created", box=None, header_style="bold", title_justify="left")
        for c in consumers:
            table.add_row(c["name"], c["status"], c["created"])
        context.out.print(table)
    else:
        context.out.print("no enhanced fan-out consumers")
    return 0


def _print_summary(context: Context, summary: dict[str, Any], shards: list[dict[str, Any]]) -> None:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    closed = sum(not shard["open"] for shard in shards)
    rows = [
        ("stream", summary["name"]),
        ("arn", summary["arn"]),
        ("status", summary["status"]),
        ("mode", shown(summary["mode"])),
        ("shards", f"{summary['open_shards']} open, {closed} closed"),
        ("retention", f"{summary['retention_hours']} hours"),
        ("encryption", shown(summary["encryption"])),
        ("created", summary["created"]),
    ]
    for key, value in rows:
        grid.add_row(key, value)
    context.out.print(grid)


def _print_tree(context: Context, name: str, shards: list[dict[str, Any]]) -> None:
    """Each shard under its first listed parent; a merged shard's other parent names it instead."""
    by_id = {shard["shard_id"]: shard for shard in shards}
    tree = Tree(f"shards of {name}", guide_style="dim")

    def label(shard: dict[str, Any]) -> str:
        state = "open" if shard["open"] else "closed"
        text = f"{shard['shard_id']}  {state}  {_share(shard['hash_range'])}"
        if len(shard["parents"]) > 1:
            text += f"  (merged from {' + '.join(shard['parents'])})"
        return text

    def grow(node: Tree, shard: dict[str, Any], depth: int) -> None:
        for child_id in shard["children"]:
            child = by_id[child_id]
            if child["parents"][0] != shard["shard_id"]:
                node.add(f"{child_id}  (see under {child['parents'][0]})", style="dim")
                continue
            if depth < len(shards):  # a malformed answer with a cycle cannot loop forever
                grow(node.add(label(child), style="" if child["open"] else "dim"), child, depth + 1)

    for shard in shards:
        if not any(parent in by_id for parent in shard["parents"]):
            grow(tree.add(label(shard), style="" if shard["open"] else "dim"), shard, 1)
    context.out.print(tree)


async def create(context: Context) -> int:
    args = context.args
    async with context.client() as kinesis:
        if args.on_demand:
            mode = aiokinesis.StreamModeDetails(stream_mode=aiokinesis.StreamMode.ON_DEMAND)
            await kinesis.create_stream(stream_name=args.stream, stream_mode_details=mode)
        else:
            await kinesis.create_stream(stream_name=args.stream, shard_count=args.shards)
        if args.no_wait:
            out = (await kinesis.describe_stream_summary(stream_name=args.stream)).stream_description_summary
        else:
            out = await kinesis.wait.stream_exists(stream_name=args.stream, delay=_POLL, max_wait=_MAX_WAIT)
    summary = _summary(out)
    if context.json:
        context.emit({"stream": summary})
    else:
        context.out.print(
            f"created {summary['name']}: {summary['status']}, {shown(summary['mode'])}, "
            f"{summary['open_shards']} open shards",
            markup=False,
        )
    return 0


async def delete(context: Context) -> int:
    args = context.args
    async with context.client() as kinesis:
        await kinesis.delete_stream(stream_name=args.stream, enforce_consumer_deletion=args.force or None)
        if not args.no_wait:
            await kinesis.wait.stream_not_exists(stream_name=args.stream, delay=_POLL, max_wait=_MAX_WAIT)
    if context.json:
        context.emit({"stream": {"name": args.stream, "deleted": not args.no_wait}})
    else:
        context.out.print(f"{'deleted' if not args.no_wait else 'deleting'} {args.stream}", markup=False)
    return 0


COMMANDS: dict[str, Callable[[Context], Awaitable[int]]] = {
    "ls": ls,
    "describe": describe,
    "create": create,
    "delete": delete,
}
