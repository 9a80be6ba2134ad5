"""Lines of stdin or a file, for an event loop, read by a daemon thread with os.read.

Not the loop's executor: a read from a terminal blocks until Enter, and asyncio.run waits for
its executor's threads at exit, so Ctrl-C would hang there. Not sys.stdin: a daemon thread
blocked inside its buffered reader holds a lock the interpreter needs at shutdown. os.read on
the raw descriptor holds neither; the thread is simply abandoned when the command ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncGenerator, AsyncIterator

_CHUNK = 1 << 16
_AHEAD = 8
"""Chunks read ahead of the loop at most: reading pauses when the producer does."""


class Lines:
    """`async for number, line in Lines(fd)`: each line (1-based number) without its line break."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._queue: asyncio.Queue[bytes | OSError] = asyncio.Queue()
        self._room = threading.Semaphore(_AHEAD)
        self.bytes_read = 0
        self.stopped = False
        self._thread: threading.Thread | None = None

    def _read(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            self._room.acquire()
            try:
                chunk: bytes | OSError = os.read(self._fd, _CHUNK)
            except OSError as exc:
                chunk = exc
            try:
                loop.call_soon_threadsafe(self._queue.put_nowait, chunk)
            except RuntimeError:  # the loop is closed: nobody is reading any more
                return
            if not chunk or isinstance(chunk, OSError):
                return

    async def _chunks(self) -> AsyncGenerator[bytes]:
        if self._thread is None:
            loop = asyncio.get_running_loop()
            self._thread = threading.Thread(target=self._read, args=(loop,), name="aiokinesis-lines", daemon=True)
            self._thread.start()
        while True:
            chunk = await self._queue.get()
            self._room.release()
            if isinstance(chunk, OSError):
                raise chunk
            if not chunk:
                return
            self.bytes_read += len(chunk)
            yield chunk

    def stop(self) -> None:
        """End the iteration at the next line: the rest of the input is left unread (a partial line too)."""
        self.stopped = True
        self._queue.put_nowait(b"")

    async def __aiter__(self) -> AsyncIterator[tuple[int, bytes]]:
        number = 0
        parts: list[bytes] = []
        chunks = self._chunks()
        try:
            async for chunk in chunks:
                parts.append(chunk)
                if b"\n" not in chunk:  # a long line: joined once, when it ends
                    continue
                lines = b"".join(parts).split(b"\n")
                parts = [lines.pop()]
                for line in lines:
                    if self.stopped:
                        return
                    number += 1
                    yield number, line[:-1] if line.endswith(b"\r") else line
            rest = b"".join(parts)
            if rest and not self.stopped:
                yield number + 1, rest[:-1] if rest.endswith(b"\r") else rest
        finally:
            with contextlib.suppress(RuntimeError):
                await chunks.aclose()
