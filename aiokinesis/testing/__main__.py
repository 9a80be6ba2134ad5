"""python -m aiokinesis.testing: a local Kinesis on 127.0.0.1 until interrupted.

python -m aiokinesis.testing --port 4568 --stream orders:4 --stream audit:1

It serves HTTP/1.1 and, with h2 installed, HTTP/2 with prior knowledge on the same port.
--create-duration, --update-duration and --delete-duration keep streams, consumers and queues
CREATING, UPDATING or DELETING for that many seconds, as AWS does (0, the default: no wait).
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from ._limits import Limits
from ._server import KinesisServer
from ._transitions import StateDurations


def _stream(text: str) -> tuple[str, int]:
    name, _, shards = text.partition(":")
    if not name or (shards and not shards.isdigit()):
        raise argparse.ArgumentTypeError(f"expected NAME or NAME:SHARDS, not {text!r}")
    return name, int(shards or 1)


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds, 0 or more, not {text!r}")
    return seconds


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
        durations=StateDurations(create=args.create_duration, update=args.update_duration, delete=args.delete_duration),
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
    for state in ("create", "update", "delete"):
        parser.add_argument(
            f"--{state}-duration",
            type=_seconds,
            default=0.0,
            metavar="SECONDS",
            help=f"seconds a resource stays {state.upper().rstrip('E')}ING (default 0)",
        )
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
