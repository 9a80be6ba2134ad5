"""python -m aiokinesis.testing: a local Kinesis for any SDK's tests, until interrupted.

python -m aiokinesis.testing --port 4568 --stream orders:4 --stream audit:1

It serves HTTP/1.1 and, with h2 installed, HTTP/2 with prior knowledge on the same port.
--create-duration, --update-duration and --delete-duration keep streams, consumers and queues
CREATING, UPDATING or DELETING for that many seconds, as AWS does (0, the default: no wait).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from ._limits import Limits
from ._server import KinesisServer
from ._transitions import StateDurations

READY = "aiokinesis.testing listening on {url}"
"""The one line printed on stdout (then flushed) once the port accepts requests."""
EPILOG = f"""\
ready line:
  Once listening it prints one line on stdout, and flushes it:
    {READY.format(url="http://HOST:PORT")}
  with the port it bound (useful with --port 0). A test suite in any language can start the
  command as a subprocess, read that line and take the URL after "listening on " as its
  endpoint; nothing else is printed on stdout. It serves until SIGINT or SIGTERM, then exits 0.
  If it cannot listen (a port in use, an address not of this machine) it says why on stderr
  and exits 1.

example (any SDK: dummy credentials, any region; streams are kept per signing region):
  python -m aiokinesis.testing --port 0 --stream orders:2
  aws --endpoint-url http://127.0.0.1:PORT kinesis list-streams"""


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


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 (any free one) to 65535, not {text!r}")
    return int(text)


async def serve(args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = KinesisServer(
        streams=dict(args.stream),
        limits=Limits(enabled=not args.no_limits),
        seed=args.seed,
        port=args.port,
        host=args.host,
        max_concurrent_streams=args.max_concurrent_streams,
        durations=StateDurations(create=args.create_duration, update=args.update_duration, delete=args.delete_duration),
    )
    try:
        await server.start()
    except OSError as error:
        await server.close()
        print(f"aiokinesis.testing: cannot listen on {args.host} port {args.port}: {error}", file=sys.stderr)
        return 1
    try:
        print(READY.format(url=server.endpoint_url), flush=True)
        await stop.wait()
    finally:
        await server.close()
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m aiokinesis.testing",
        description=__doc__.splitlines()[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1; 0.0.0.0 for every one)"
    )
    parser.add_argument("--port", type=_port, default=4568, help="the port (default 4568; 0: any free one)")
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
    sys.exit(asyncio.run(serve(parser.parse_args())))


if __name__ == "__main__":
    main()
