"""What every command shares: the client from the common options, the two consoles, JSON output,
and Ctrl-C as a request to stop rather than a traceback.

A command that can stop cleanly (tail, put) watches `stop.requested`; the others are cancelled
by the first Ctrl-C, and a second Ctrl-C cancels any command. Either way the exit code is 130.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable
from typing import Any

import orjson
from rich.console import Console

import aiokinesis

INTERRUPTED = 130
_PIPED_WIDTH = 4096


class Stop:
    """Ctrl-C: the first press asks a graceful command to stop (and cancels any other), the second cancels."""

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self._task = task
        self.requested = asyncio.Event()
        self.graceful = False
        """Set by a command that watches `requested` and stops by itself."""
        self.presses = 0
        self.callbacks: list[Callable[[], None]] = []
        """Called at the first press (a graceful command's way to stop a read that waits)."""

    def press(self) -> None:
        self.presses += 1
        if not self.requested.is_set():
            self.requested.set()
            for callback in self.callbacks:
                callback()
        if not self.graceful or self.presses > 1:
            self._task.cancel()

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, self.press)
        loop.add_signal_handler(signal.SIGTERM, self.press)

    def uninstall(self) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)

    async def wait(self) -> None:
        await self.requested.wait()


class Context:
    """One run of one command: its arguments, where its output goes, and how to reach Kinesis."""

    def __init__(self, args: argparse.Namespace, stop: Stop) -> None:
        self.args = args
        self.stop = stop
        self.json = args.output == "json"
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        if not self.out.is_terminal:  # piped: tables as wide as they need, never cut to 80 columns
            self.out.width = _PIPED_WIDTH

    def client(self) -> aiokinesis.Client:
        args = self.args
        return aiokinesis.Client(region=args.region, endpoint_url=args.endpoint_url, profile=args.profile)

    def emit(self, document: object) -> None:
        """One JSON document on stdout, indented, keys in the order the command built them."""
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        sys.stdout.flush()

    def warn(self, message: str) -> None:
        """One line on stderr, prefixed with the command's name; never markup."""
        self.err.print(f"aiokinesis {self.args.command}: {message}", markup=False)


def shown(value: object) -> str:
    """An enum member, a string or None as text for tables."""
    if value is None:
        return "-"
    return str(getattr(value, "value", value))
