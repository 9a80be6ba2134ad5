"""What a stream allows its producer, from DescribeStreamSummary: the largest record, the largest
PutRecords, and whether records need a partition key (RecordDistributionStrategy).

Read at open, and again (at most once a REFRESH_INTERVAL) when a put would be refused by what is
known, a record larger than the known limit or a keyless record for a stream that needs keys, or
when the service refuses a request as invalid: a limit raised or a strategy switched while the
producer runs is picked up by the put that needs it, for one DescribeStreamSummary.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._produce_model import MIB
from .errors import KinesisError

if TYPE_CHECKING:
    from ._generated.operations import Operations
    from .config import ProducerConfig

log = logging.getLogger("aiokinesis.producer")

LARGEST_RECORD = 10 * MIB
"""The largest record any stream takes (MaxRecordSizeInKiB 10240)."""
REFRESH_INTERVAL = 1.0
"""Seconds between two reads of the stream's limits: DescribeStreamSummary allows 20 a second
an account, and a caller putting records that are too large must not spend them all."""


class StreamLimits:
    """The stream's limits as last read; `changed` is called after every read."""

    def __init__(
        self,
        kinesis: Operations,
        stream_name: str,
        config: ProducerConfig,
        clock: Callable[[], float],
        changed: Callable[[StreamLimits], None],
    ) -> None:
        self._kinesis = kinesis
        self._stream_name = stream_name
        self._config = config
        self._clock = clock
        self._changed = changed
        self._lock = asyncio.Lock()
        self._read_at = float("-inf")
        self.max_record_bytes = MIB
        """Data and partition key of one record, at most (MaxRecordSizeInKiB x 1024)."""
        self.auto = False
        """RecordDistributionStrategy AUTO: partition keys optional and ignored, records spread."""

    @property
    def max_batch_bytes(self) -> int:
        """Bytes per PutRecords: the config's, or 10 MiB on a large-record stream and 5 MiB on others."""
        if self._config.max_batch_bytes is not None:
            return self._config.max_batch_bytes
        return 10 * MIB if self.max_record_bytes > MIB else 5 * MIB

    async def read(self) -> None:
        """Read the limits now (at open: a failure propagates)."""
        async with self._lock:
            await self._read()

    async def refresh(self) -> None:
        """Read the limits again unless they were read within REFRESH_INTERVAL; a failure is logged
        and the known limits stay (the caller then judges by them)."""
        async with self._lock:
            if self._clock() - self._read_at < REFRESH_INTERVAL:
                return
            try:
                await self._read()
            except KinesisError as exc:
                log.warning("could not read the limits of %s again: %s", self._stream_name, exc)

    async def _read(self) -> None:
        self._read_at = self._clock()
        answer = await self._kinesis.describe_stream_summary(stream_name=self._stream_name)
        summary = answer.stream_description_summary
        max_record_bytes = (summary.max_record_size_in_ki_b or 1024) * 1024
        auto = summary.record_distribution_strategy == "AUTO"
        if (max_record_bytes, auto) != (self.max_record_bytes, self.auto):
            log.info(
                "%s takes records up to %d bytes, %s",
                self._stream_name,
                max_record_bytes,
                "spread by the service (AUTO)" if auto else "routed by partition key",
            )
        self.max_record_bytes = max_record_bytes
        self.auto = auto
        self._changed(self)
