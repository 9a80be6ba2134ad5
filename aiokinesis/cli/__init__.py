"""The `aiokinesis` command (also `python -m aiokinesis`): streams, records and lease tables from the shell.

The grammar lives in _parser (stdlib only); each command in its own module, imported when run,
with its terminal output through rich, the optional extra `aiokinesis-sdk[cli]`. Errors the SDK
raises become one line on stderr and exit code 1; argparse's usage errors exit 2; Ctrl-C 130.
"""

from __future__ import annotations

import asyncio
import runpy
import sys
from collections.abc import Sequence

from ._parser import build

__all__ = ["INSTALL", "main"]

INSTALL = "pip install 'aiokinesis-sdk[cli]'"
"""How to get the optional terminal library: the one place that names the extra."""


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line, run the command, exit with its code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["testing-server"]:
        sys.exit(_testing_server(arguments[1:]))
    parser = build()
    args = parser.parse_args(arguments)
    if args.command == "tail" and args.start is not None and args.start[0] == "sequence" and args.shard is None:
        parser.error("tail --from SEQUENCE_NUMBER needs --shard: a sequence number belongs to one shard")
    try:
        import rich  # noqa: F401, PLC0415 - optional: checked here, once, to say how to install it
    except ImportError:
        print(f"aiokinesis: the command line needs the rich library: {INSTALL}", file=sys.stderr)
        sys.exit(1)
    from ._run import run  # noqa: PLC0415 - imports rich

    sys.exit(asyncio.run(run(args)))


def _testing_server(arguments: list[str]) -> int:
    """`aiokinesis testing-server ...` is `python -m aiokinesis.testing ...`, arguments and all."""
    sys.argv = ["aiokinesis testing-server", *arguments]
    try:
        runpy.run_module("aiokinesis.testing", run_name="__main__", alter_sys=True)
    except KeyboardInterrupt:
        return 130
    return 0
