"""Client: the lifecycle around the generated operations, and the place that wires the layers above.

The reader, consumer and producer never import this module: they are handed the operations,
the session as a narrow `Invoker`, and the client's `Runtime`. The client builds them for the
user (`kinesis.producer(...)`), so arrows point one way: client -> consumer/producer -> reader ->
operations -> session. It imports each of them when it first builds one: a program that only makes
calls loads none of them (nor sqlite3, the event stream or the lease machinery).
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Self

import aiohttp

from ._credentials import CredentialSource, RegionSource
from ._generated.models import PutRecordsOutput, StartingPosition, SubscribeToShardInput
from ._generated.operations import Operations, PutRecords
from ._metrics import MetricsSink, guarded
from ._put_records import Entry, parse_results, request_body
from ._queue_config import QueueConfig
from ._runtime import Runtime
from ._service import KINESIS
from ._session import Session
from .config import ConsumerConfig, HttpConfig, ProducerConfig, ReaderConfig, RetryConfig

if TYPE_CHECKING:
    from ._dynamodb import DynamoDB
    from ._recordsource import RecordSources
    from ._shardstore import CheckpointStore
    from .checkpoints import Checkpoints
    from .consumer import StreamConsumer
    from .leases import LeaseStore
    from .leases._coordinator import LeaseCoordinator
    from .paginators import Paginators
    from .producer import Producer
    from .queues import QueueConsumer
    from .reader import ShardReader
    from .subscriptions import SubscribeToShardOutput
    from .waiters import Waiters

# The layers above the operations are imported where the client first builds one of them (noqa
# PLC0415 below): `import aiokinesis` and a client's calls load none of them.


class Client(Operations):
    """An asyncio Kinesis client: one coroutine per API operation, typed in and out.

    Use it as `async with Client(region="eu-west-1") as kinesis:`, or call `aclose()`.
    It opens on first use (resolving region and credentials off the event loop) and
    cannot be reopened once closed. A given `http_session` is used but never closed.
    `metrics` (a MetricsSink, such as aiokinesis.metrics.OpenTelemetryMetrics()) is told of every
    API call, and of the producers', consumers' and leases' batches; None (the default) costs nothing.
    """

    def __init__(
        self,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        profile: str | None = None,
        use_fips: bool = False,
        use_dual_stack: bool = False,
        http: HttpConfig = HttpConfig(),  # noqa: B008 - frozen, shared safely
        retry: RetryConfig = RetryConfig(),  # noqa: B008 - frozen, shared safely
        http_session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        metrics: MetricsSink | None = None,
    ) -> None:
        self._runtime = runtime = Runtime(clock=clock, sleep=sleep, rand=rand)
        # Durations on the monotonic clock, unless a test gave its own.
        self._metrics = guarded(metrics, time.perf_counter if clock is time.time else clock)
        self._session = Session(
            service=KINESIS,
            region=RegionSource(region, profile),
            endpoint_url=endpoint_url,
            credentials=CredentialSource(
                access_key_id=aws_access_key_id,
                secret_access_key=aws_secret_access_key,
                session_token=aws_session_token,
                profile=profile,
                clock=clock,
            ),
            http=http,
            retry=retry,
            use_fips=use_fips,
            use_dual_stack=use_dual_stack,
            http_session=http_session,
            runtime=runtime,
        )
        self._session.metrics = self._metrics

    def __repr__(self) -> str:
        state = "closed" if self._session.closed else "open"
        return f"<aiokinesis.Client region={self._session.region!r} {state}>"

    @cached_property
    def paginate(self) -> Paginators:
        """Async iterators over the items of every paginated operation."""
        from .paginators import Paginators  # noqa: PLC0415

        return Paginators(self)

    @cached_property
    def wait(self) -> Waiters:
        """Waiters for streams and consumers to reach a state."""
        from .waiters import Waiters  # noqa: PLC0415

        return Waiters(self, self._runtime)

    @property
    def region(self) -> str | None:
        """The region in use; None until the client has opened if it comes from configuration."""
        return self._session.region

    async def put_records(
        self,
        *,
        records: Sequence[Entry],
        stream_name: str | None = None,
        stream_arn: str | None = None,
        stream_id: str | None = None,
        dry_run: bool | None = None,
    ) -> PutRecordsOutput:
        """Writes up to 500 records into a Kinesis data stream in one call (a PutRecords request).

        Each record is a PutRecordsRequestEntry or, cheaper, a `(data, partition_key)` or
        `(data, partition_key, explicit_hash_key)` tuple: both are checked alike, each error naming
        the entry, the field and the limit, before anything is sent. The result's `records` are
        decoded as they are read: `failed_record_count` alone builds none of them."""
        body = request_body(records, stream_name, stream_arn, stream_id, dry_run)
        return await self._session.invoke(PutRecords, body, parse_results)

    async def subscribe_to_shard(
        self,
        *,
        consumer_arn: str,
        shard_id: str,
        starting_position: StartingPosition,
        stream_id: str | None = None,
        dry_run: bool | None = None,
    ) -> SubscribeToShardOutput:
        """Subscribe an enhanced fan-out consumer to a shard; events arrive on `event_stream`.

        Returns once Kinesis accepts the subscription. Read the events with
        `async with out.event_stream as events: async for event in events: ...`.
        """
        from .subscriptions import subscribe_to_shard  # noqa: PLC0415

        request = SubscribeToShardInput(
            consumer_arn=consumer_arn,
            shard_id=shard_id,
            starting_position=starting_position,
            stream_id=stream_id,
            dry_run=dry_run,
        )
        return await subscribe_to_shard(self._session, request)

    def read_shard(
        self,
        stream_name: str | None,
        shard_id: str,
        *,
        start: StartingPosition,
        stream_arn: str | None = None,
        config: ReaderConfig = ReaderConfig(),  # noqa: B008 - frozen
    ) -> ShardReader:
        """Every record of one shard from `start`, in order: `async for record in kinesis.read_shard(...)`.

        The reader paces itself to the shard's read limits, backs off when throttled, survives
        expired iterators and transient errors, splits KPL aggregates, and ends at the shard's
        end (see its `child_shards`). It owns no tasks: stop iterating whenever you like.
        """
        from .reader import ShardReader  # noqa: PLC0415

        return ShardReader(
            self,
            self._session,
            shard_id,
            start,
            stream_name=stream_name,
            stream_arn=stream_arn,
            config=config,
            runtime=self._runtime,
        )

    def consumer(
        self,
        stream_name: str,
        *,
        checkpoints: Checkpoints | None = None,
        leases: LeaseStore | None = None,
        worker_id: str | None = None,
        start: StartingPosition | None = None,
        enhanced_fan_out: str | None = None,
        deregister_on_close: bool = False,
        config: ConsumerConfig = ConsumerConfig(),  # noqa: B008 - frozen
    ) -> StreamConsumer:
        """Every shard of a stream as one async iterator of batches: `async with kinesis.consumer(...) as c:`.

        Shards without a checkpoint start at `start` (default: latest). `checkpoints` default to
        memory only; pass `SqliteCheckpoints("app.db")` to survive restarts. Or pass `leases` (a
        lease table, instead of `checkpoints`) to share the stream's shards with other workers:
        each reads its share, and takes over a dead one's; `worker_id` names this worker in the
        table (default: host, process id and a random suffix, unique per consumer).

        `enhanced_fan_out="NAME"` reads every shard through SubscribeToShard as the stream consumer
        NAME (registered when the consumer opens if it does not exist, and waited for until ACTIVE)
        instead of GetRecords: records are pushed, with their own 2 MiB/s per shard. Everything
        else behaves as with polling. `deregister_on_close=True` deregisters NAME on close, for
        short-lived readers (never with workers sharing NAME through leases: it ends theirs too).
        """
        from ._fanout import FanOutSources, check_consumer_name  # noqa: PLC0415
        from ._recordsource import PollingSources  # noqa: PLC0415
        from ._shardstore import CheckpointStore  # noqa: PLC0415
        from .checkpoints import MemoryCheckpoints  # noqa: PLC0415
        from .consumer import StreamConsumer  # noqa: PLC0415
        from .leases._coordinator import LeaseCoordinator, default_worker_id  # noqa: PLC0415

        if enhanced_fan_out is not None:
            check_consumer_name(enhanced_fan_out)
        if not isinstance(deregister_on_close, bool):
            raise TypeError(f"deregister_on_close must be True or False, not {deregister_on_close!r}")
        if deregister_on_close and enhanced_fan_out is None:
            raise ValueError(
                "deregister_on_close= deregisters the enhanced fan-out consumer: give enhanced_fan_out= too"
            )
        if checkpoints is not None and leases is not None:
            raise ValueError(
                "give a consumer checkpoints= or leases=, not both: with leases, the lease table keeps them"
            )
        if worker_id is not None and (not isinstance(worker_id, str) or not worker_id):
            raise ValueError(f"worker_id must be a non-empty string, not {worker_id!r}")
        if worker_id is not None and leases is None:
            raise ValueError("worker_id= names this worker in a lease table: give leases= too")
        position = start if start is not None else StartingPosition.latest()
        store: CheckpointStore | LeaseCoordinator
        if leases is None:
            store = CheckpointStore(
                checkpoints if checkpoints is not None else MemoryCheckpoints(), stream_name, position
            )
        else:
            leases = self._lease_store(leases)
            # Leases measure durations: on the wall clock (which can jump) they use the monotonic one.
            clock = time.monotonic if self._runtime.clock is time.time else self._runtime.clock
            store = LeaseCoordinator(
                leases,
                worker_id=worker_id if worker_id is not None else default_worker_id(),
                start=position,
                config=config,
                runtime=dataclasses.replace(self._runtime, clock=clock),
                metrics=self._metrics,
                stream=stream_name,
            )
        sources: RecordSources
        if enhanced_fan_out is None:
            sources = PollingSources(self, self._session, stream_name, config.reader, self._runtime)
        else:
            sources = FanOutSources(
                self,
                self._session,
                stream_name,
                enhanced_fan_out,
                deregister_on_close=deregister_on_close,
                config=config.fan_out,
                runtime=self._runtime,
            )
        return StreamConsumer(
            self, stream_name, sources=sources, store=store, config=config, runtime=self._runtime, metrics=self._metrics
        )

    def attach_leases(self, leases: LeaseStore) -> None:
        """Give a DynamoDB lease table this client's credentials, to read it outside a consumer
        (`await leases.prepare()`, then `await leases.list_leases()`); `consumer(leases=...)` does
        this itself. Other stores need nothing: they are left as they are."""
        self._lease_store(leases)

    def _lease_store(self, leases: LeaseStore) -> LeaseStore:
        """The store a consumer of this client uses: a DynamoDB table bound to this client alone
        (and `leases` attached to it as well, to be read outside the consumer); other stores as given."""
        from .leases._store import DynamoDBTable  # noqa: PLC0415

        if not isinstance(leases, DynamoDBTable):
            return leases
        dynamodb = self._dynamodb(region=leases.region, endpoint_url=leases.endpoint_url)
        leases.attach(dynamodb)
        return leases.bound(dynamodb)

    def producer(
        self,
        stream_name: str,
        *,
        linger: float | None = None,
        aggregate: bool | None = None,
        config: ProducerConfig = ProducerConfig(),  # noqa: B008 - frozen
    ) -> Producer:
        """Batched, paced, retried writes to a stream: `async with kinesis.producer("orders") as producer:`.

        `linger` and `aggregate` override the same fields of `config`. Leaving the block sends
        everything buffered and waits for every receipt.
        """
        from .producer import Producer  # noqa: PLC0415

        if linger is not None:
            config = dataclasses.replace(config, linger=linger)
        if aggregate is not None:
            config = dataclasses.replace(config, aggregate=aggregate)
        return Producer(self, self._session, stream_name, config=config, runtime=self._runtime, metrics=self._metrics)

    def queue_consumer(
        self,
        queue: str,
        *,
        concurrency: int | None = None,
        visibility_timeout: int | None = None,
        config: QueueConfig = QueueConfig(),  # noqa: B008 - frozen
    ) -> QueueConsumer:
        """A queue's records as messages: `async with kinesis.queue_consumer("orders-work") as queue:`.

        `queue` is a queue's name (looked up when it opens) or ARN. Iterate it and `await
        message.ack()` each message, or `await queue.run(handler)`; `concurrency` and
        `visibility_timeout` override the same fields of `config`. Bad arguments raise here.
        """
        from .queues import QueueConsumer  # noqa: PLC0415

        if concurrency is not None:
            config = dataclasses.replace(config, concurrency=concurrency)
        if visibility_timeout is not None:
            config = dataclasses.replace(config, visibility_timeout=visibility_timeout)
        return QueueConsumer(self, queue, config=config, runtime=self._runtime)

    def _dynamodb(
        self,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        use_fips: bool | None = None,
        use_dual_stack: bool | None = None,
        http: HttpConfig | None = None,
        retry: RetryConfig | None = None,
    ) -> DynamoDB:
        """A DynamoDB client (for lease tables) with this client's credentials, region and runtime.

        Credentials and region are resolved once for both; it has its own connection pool (unless
        this client was given an aiohttp session) and retry quota, and is closed with this client
        if not before. `endpoint_url` (DynamoDB Local) is its own; the other settings default to
        this client's."""
        # Only clients that keep leases pay for DynamoDB's client and generated models.
        from ._dynamodb import DYNAMODB, DynamoDB  # noqa: PLC0415

        options = {"use_fips": use_fips, "use_dual_stack": use_dual_stack}
        session = self._session.sibling(
            DYNAMODB, region=region, endpoint_url=endpoint_url, http=http, retry=retry, **options
        )
        return DynamoDB(session, self._runtime)

    async def __aenter__(self) -> Self:
        await self._session.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.shield(self.aclose())

    async def aclose(self) -> None:
        """Close the connection pool (if the client made it); idempotent."""
        await self._session.close()

    def __del__(self) -> None:
        session = getattr(self, "_session", None)
        if session is not None and session.unclosed_pool:
            warnings.warn(f"unclosed {self!r}: use 'async with' or await aclose()", ResourceWarning, stacklevel=1)
