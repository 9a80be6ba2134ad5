"""`client.paginate.<operation>(...)`: async iterators over items, pages hidden.

Each follows the model's paginator (paginators-1.json) for its token style; ListShards
also survives an expired NextToken (300 s) by restarting after the last shard seen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from ._generated.errors import ExpiredNextTokenException
from ._generated.models import (
    ChannelSummary,
    Consumer,
    QueueStreamFilter,
    QueueSummary,
    Shard,
    ShardFilter,
    StreamFilter,
    Tag,
)

if TYPE_CHECKING:
    from ._generated.operations import Operations

P = TypeVar("P")
I = TypeVar("I")  # noqa: E741


async def _next_token_items(
    fetch: Callable[[str | None], Awaitable[P]],
    items: Callable[[P], list[I] | None],
    token: Callable[[P], str | None],
) -> AsyncIterator[I]:
    """Items of every page, asking for the next page while the last one gave a token."""
    next_token: str | None = None
    while True:
        page = await fetch(next_token)
        for item in items(page) or ():
            yield item
        next_token = token(page)
        if not next_token:
            return


class Paginators:
    """Reached as `client.paginate`; one async iterator per paginated operation."""

    def __init__(self, client: Operations) -> None:
        self._client = client

    async def describe_stream(
        self, *, stream_name: str | None = None, stream_arn: str | None = None, limit: int | None = None
    ) -> AsyncIterator[Shard]:
        """Every shard of the stream, through DescribeStream's HasMoreShards/ExclusiveStartShardId."""
        start: str | None = None
        while True:
            page = await self._client.describe_stream(
                stream_name=stream_name, stream_arn=stream_arn, limit=limit, exclusive_start_shard_id=start
            )
            shards = page.stream_description.shards
            for shard in shards:
                yield shard
            if not page.stream_description.has_more_shards or not shards:
                return
            start = shards[-1].shard_id

    async def list_streams(self, *, limit: int | None = None) -> AsyncIterator[str]:
        """Every stream name of the account and region.

        Follows NextToken; a server that says HasMoreStreams without one (the older API,
        kinesis-mock) is paged by ExclusiveStartStreamName instead."""
        token: str | None = None
        start: str | None = None
        while True:
            page = await self._client.list_streams(
                limit=limit, next_token=token, exclusive_start_stream_name=None if token else start
            )
            for name in page.stream_names:
                yield name
            if not page.has_more_streams or not page.stream_names:
                return
            token, start = page.next_token, page.stream_names[-1]

    async def list_shards(
        self,
        *,
        stream_name: str | None = None,
        stream_arn: str | None = None,
        exclusive_start_shard_id: str | None = None,
        shard_filter: ShardFilter | None = None,
        stream_creation_timestamp: datetime | None = None,
        max_results: int | None = None,
    ) -> AsyncIterator[Shard]:
        """Every shard matching the filter. NextToken pages carry no stream name, as AWS requires;
        an expired token restarts the listing after the last shard seen, so none is repeated."""
        last_seen = exclusive_start_shard_id
        token: str | None = None
        while True:
            try:
                if token is None:
                    page = await self._client.list_shards(
                        stream_name=stream_name,
                        stream_arn=stream_arn,
                        exclusive_start_shard_id=last_seen,
                        shard_filter=shard_filter,
                        stream_creation_timestamp=stream_creation_timestamp,
                        max_results=max_results,
                    )
                else:
                    page = await self._client.list_shards(next_token=token, max_results=max_results)
            except ExpiredNextTokenException:
                if token is None:
                    raise
                token = None
                continue
            for shard in page.shards or ():
                last_seen = shard.shard_id
                yield shard
            token = page.next_token
            if not token:
                return

    async def list_stream_consumers(
        self,
        *,
        stream_arn: str,
        stream_creation_timestamp: datetime | None = None,
        max_results: int | None = None,
    ) -> AsyncIterator[Consumer]:
        """Every enhanced fan-out consumer registered on the stream."""
        async for consumer in _next_token_items(
            lambda token: self._client.list_stream_consumers(
                stream_arn=stream_arn,
                stream_creation_timestamp=stream_creation_timestamp,
                max_results=max_results,
                next_token=token,
            ),
            lambda page: page.consumers,
            lambda page: page.next_token,
        ):
            yield consumer

    async def list_tags_for_stream(
        self, *, stream_name: str | None = None, stream_arn: str | None = None, limit: int | None = None
    ) -> AsyncIterator[Tag]:
        """Every tag of the stream, through HasMoreTags/ExclusiveStartTagKey."""
        start: str | None = None
        while True:
            page = await self._client.list_tags_for_stream(
                stream_name=stream_name, stream_arn=stream_arn, limit=limit, exclusive_start_tag_key=start
            )
            for tag in page.tags:
                yield tag
            if not page.has_more_tags or not page.tags:
                return
            start = page.tags[-1].key

    async def list_channels(
        self, *, stream_filter: list[StreamFilter] | None = None, max_results: int | None = None
    ) -> AsyncIterator[ChannelSummary]:
        """Every channel, optionally only those of some streams."""
        async for channel in _next_token_items(
            lambda token: self._client.list_channels(
                stream_filter=stream_filter, max_results=max_results, next_token=token
            ),
            lambda page: page.channel_summaries,
            lambda page: page.next_token,
        ):
            yield channel

    async def list_queues(
        self, *, stream_filter: list[QueueStreamFilter] | None = None, max_results: int | None = None
    ) -> AsyncIterator[QueueSummary]:
        """Every queue, optionally only those of some streams."""
        async for queue in _next_token_items(
            lambda token: self._client.list_queues(
                stream_filter=stream_filter, max_results=max_results, next_token=token
            ),
            lambda page: page.queue_summaries,
            lambda page: page.next_token,
        ):
            yield queue
