"""How the conformance tests read: never faster than AWS's 5 GetRecords a second per shard.

aiokinesis.testing enforces that limit (kinesis-mock does not), and the suite's server fixture
fails a test that was throttled: paging in a tight loop passed only by the luck of the client's
retries. Tests read through the reader, which paces itself, or page by hand through `Paced`.
"""

from __future__ import annotations

import asyncio

import aiokinesis

READ_INTERVAL = 0.2
"""Seconds between two GetRecords on one shard: AWS allows 5 a second."""
READER = aiokinesis.ReaderConfig(min_interval=READ_INTERVAL, idle_interval=READ_INTERVAL)
"""Readers at AWS's pace, idling no longer than that: for readers and consumers under test."""


class Paced:
    """GetRecords on one shard, each call starting READ_INTERVAL after the previous one answered.

    The wait counts from the answer, so however late a request reaches the server, the next
    one reaches it at least READ_INTERVAL later: no load on the machine makes the two closer.
    """

    def __init__(self, kinesis: aiokinesis.Client) -> None:
        self._kinesis = kinesis
        self._next = float("-inf")

    async def get_records(self, iterator: str, limit: int | None = None) -> aiokinesis.GetRecordsOutput:
        loop = asyncio.get_running_loop()
        delay = self._next - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            return await self._kinesis.get_records(shard_iterator=iterator, limit=limit)
        finally:
            self._next = loop.time() + READ_INTERVAL

    async def read_all(self, iterator: str | None, limit: int = 3) -> list[aiokinesis.Record]:
        """Every record from the iterator, in pages of `limit`, until an empty page (or the shard end)."""
        records: list[aiokinesis.Record] = []
        for _ in range(50):
            if iterator is None:
                break
            page = await self.get_records(iterator, limit)
            records += page.records
            iterator = page.next_shard_iterator
            if not page.records:
                break
        return records


async def read_to_end_or(reader: aiokinesis.ShardReader, count: int) -> list[aiokinesis.ShardRecord]:
    """The shard's records until it ends, or until count arrived (an open shard never ends; -1: to the end)."""
    got: list[aiokinesis.ShardRecord] = []
    async with asyncio.timeout(30):
        while len(got) < count or count < 0:
            batch = await reader.next_batch()
            if batch is None:
                break
            got += batch.records
    return got
