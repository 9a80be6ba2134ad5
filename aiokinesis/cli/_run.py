"""Running one parsed command: Ctrl-C handling, and every error as one line on stderr (exit code 1)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable

import aiokinesis

from ._context import INTERRUPTED, Context, Stop

Command = Callable[[Context], Awaitable[int]]


def _command(name: str) -> Command:
    """The command's coroutine; its module is imported only when it runs."""
    if name in ("ls", "describe", "create", "delete"):
        from . import _streams  # noqa: PLC0415 - each command imports what it runs

        return _streams.COMMANDS[name]
    if name == "put":
        from . import _put  # noqa: PLC0415

        return _put.put
    if name == "tail":
        from . import _tail  # noqa: PLC0415

        return _tail.tail
    from . import _leases  # noqa: PLC0415

    return _leases.COMMANDS[name]


async def run(args: argparse.Namespace) -> int:
    task = asyncio.current_task()
    assert task is not None
    stop = Stop(task)
    context = Context(args, stop)
    command = _command(args.command)
    stop.install()
    try:
        return await command(context)
    except asyncio.CancelledError:
        if not stop.presses:
            raise
        task.uncancel()
        context.warn("interrupted")
        return INTERRUPTED
    except aiokinesis.KinesisError as exc:
        context.warn(_one_line(exc))
        return 1
    except BrokenPipeError:  # `aiokinesis tail s | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, OSError) as exc:  # a bad table name, a file that cannot be read
        context.warn(_one_line(exc))
        return 1
    finally:
        stop.uninstall()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, aiokinesis.ConnectError | aiokinesis.RequestTimeoutError):
        return f"cannot reach the service: {text}"
    if isinstance(exc, aiokinesis.NoCredentialsError):
        return f"{text} (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or --profile)"
    return text
