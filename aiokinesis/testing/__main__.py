"""python -m aiokinesis.testing: a local Kinesis on 127.0.0.1 until interrupted.

python -m aiokinesis.testing --port 4568 --stream orders:4 --stream audit:1

It serves HTTP/1.1 and, with h2 installed, HTTP/2 with prior knowledge on the same port.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from ._limits import Limits
from ._server import KinesisServer


def _stream(text: str) -> tuple[str, int]:
    name, _, shards = text.partition(":")
    if not name or (shards and not shards.isdigit()):
        raise argparse.ArgumentTypeError(f"expected NAME or NAME:SHARDS, not {text!r}")
    return name, int(shards or 1)


async def serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with KinesisServer(
        streams=dict(args.stream),
        limits=Limits(enabled=not args.no_limits),
        seed=args.seed,
        port=args.port,
        max_concurrent_streams=args.max_concurrent_streams,
    ) as server:
        print(f"aiokinesis.testing listening on {server.endpoint_url}", flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m aiokinesis.testing", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4568)
    parser.add_argument("--stream", type=_stream, action="append", default=[], help="NAME[:SHARDS], repeatable")
    parser.add_argument("--no-limits", action="store_true", help="do not enforce AWS's per-shard limits")
    parser.add_argument("--seed", type=int, default=None, help="seed for random faults")
    parser.add_argument(
        "--max-concurrent-streams",
        type=int,
        default=100,
        help="HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS advertised per connection (default 100)",
    )
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
