"""FanOutSources: the consumer's RecordSources for enhanced fan-out, one SubscriptionSource per shard.

When the consumer opens, it registers the stream consumer NAME unless it exists already, and
waits until it is ACTIVE; every shard is then read through SubscribeToShard on its ARN. With
`deregister_on_close` the stream consumer is deregistered once the consumer has closed (for
short-lived readers: Kinesis bills a registered consumer by the hour).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING

from ._generated.errors import ResourceInUseException, ResourceNotFoundException
from ._generated.models import ConsumerStatus, RegisterStreamConsumerOutput, StartingPosition
from ._subscription import SubscriptionSource
from .errors import ClientClosedError, KinesisError, WaiterError
from .waiters import Waiters

if TYPE_CHECKING:
    from ._generated.operations import Operations
    from ._invoker import StreamOpener
    from ._runtime import Runtime
    from .config import FanOutConfig

log = logging.getLogger("aiokinesis.consumer")
_CONSUMER_NAME = re.compile(r"[a-zA-Z0-9_.-]+")


def check_consumer_name(name: object) -> str:
    """The name given as `enhanced_fan_out`, checked as Kinesis checks a ConsumerName (1-128 of [a-zA-Z0-9_.-])."""
    if not isinstance(name, str):
        raise TypeError(f"enhanced_fan_out must be a consumer name (str), not {name!r} ({type(name).__name__})")
    if not 1 <= len(name) <= 128 or _CONSUMER_NAME.fullmatch(name) is None:
        raise ValueError(
            f"enhanced_fan_out must be 1 to 128 characters of letters, digits, '_', '.' and '-', not {name!r}"
        )
    return name


class FanOutSources:
    """RecordSources that read every shard through the stream consumer `consumer_name`."""

    def __init__(
        self,
        kinesis: Operations,
        opener: StreamOpener,
        stream_name: str,
        consumer_name: str,
        *,
        deregister_on_close: bool,
        config: FanOutConfig,
        runtime: Runtime,
    ) -> None:
        self._kinesis = kinesis
        self._opener = opener
        self._stream_name = stream_name
        self.consumer_name = check_consumer_name(consumer_name)
        self._deregister_on_close = deregister_on_close
        self._config = config
        self._runtime = runtime
        self.stream_arn: str | None = None
        self.consumer_arn: str | None = None
        """Known once `setup()` has returned."""
        self.registered = False
        """This consumer registered it (it did not exist at open)."""
        self._registering: asyncio.Future[RegisterStreamConsumerOutput] | None = None
        """A registration left in flight by a close: aclose waits for its answer, to deregister it."""

    async def setup(self) -> None:
        """Resolve the stream's ARN, register the stream consumer if need be, wait until it is ACTIVE."""
        kinesis, config, runtime = self._kinesis, self._config, self._runtime
        summary = await kinesis.describe_stream_summary(stream_name=self._stream_name)
        stream_arn = self.stream_arn = summary.stream_description_summary.stream_arn
        name = self.consumer_name
        deadline = runtime.clock() + config.active_timeout
        while (arn := await self._register_or_find(stream_arn, name)) is None:
            if runtime.clock() + config.active_poll_interval > deadline:
                raise WaiterError(
                    f"gave up waiting for consumer {name} to be deleted after {config.active_timeout:g} s"
                )
            await runtime.sleep(config.active_poll_interval)
        self.consumer_arn = arn
        await Waiters(kinesis, runtime).consumer_active(
            consumer_arn=arn,
            delay=config.active_poll_interval,
            max_wait=max(0.0, deadline - runtime.clock()),
        )

    async def _register_or_find(self, stream_arn: str, name: str) -> str | None:
        """The consumer's ARN: registered now, or found registered; None while it is being deleted."""
        registering = asyncio.ensure_future(
            self._kinesis.register_stream_consumer(stream_arn=stream_arn, consumer_name=name)
        )
        try:
            out = await asyncio.shield(registering)
        except asyncio.CancelledError:  # closed while the request was out: it may register the name yet
            self._registering = registering
            raise
        except ResourceInUseException:  # it exists, or is being created or deleted
            try:
                described = await self._kinesis.describe_stream_consumer(stream_arn=stream_arn, consumer_name=name)
            except ResourceNotFoundException:  # deleted meanwhile: register it again
                return None
            description = described.consumer_description
            if description.consumer_status == ConsumerStatus.DELETING:
                log.info("stream consumer %s of %s is being deleted: waiting to register it again", name, stream_arn)
                return None
            return description.consumer_arn
        self.registered = True
        log.info("registered stream consumer %s of %s", name, stream_arn)
        return out.consumer.consumer_arn

    def open(self, shard_id: str, start: StartingPosition, hash_range: tuple[int, int]) -> SubscriptionSource:
        if self.consumer_arn is None or self.stream_arn is None:
            raise RuntimeError("FanOutSources.open() before setup(): the stream consumer is not known yet")
        return SubscriptionSource(
            self._kinesis,
            self._opener,
            consumer_arn=self.consumer_arn,
            stream_arn=self.stream_arn,
            shard_id=shard_id,
            start=start,
            hash_range=hash_range,
            config=self._config,
            runtime=self._runtime,
        )

    async def aclose(self) -> None:
        """With deregister_on_close, deregister the stream consumer (one already gone is no error).

        A client closed first cannot deregister it: that is logged, not raised, so leaving the
        consumer's `async with` does not fail again with the error its iteration already raised."""
        registering, self._registering = self._registering, None
        if registering is not None:
            try:
                self.consumer_arn = (await registering).consumer.consumer_arn
            except KinesisError as exc:  # it registered nothing (ResourceInUse: the name was there)
                log.debug("stream consumer %s: the registration a close cut short failed: %r", self.consumer_name, exc)
        if not self._deregister_on_close or self.consumer_arn is None:
            return
        try:
            await self._kinesis.deregister_stream_consumer(consumer_arn=self.consumer_arn)
        except ResourceNotFoundException:
            log.info("stream consumer %s was already deregistered", self.consumer_arn)
        except ClientClosedError:
            log.warning(
                "stream consumer %s is still registered: the client was closed before the consumer, "
                "so deregister_on_close could not deregister it",
                self.consumer_arn,
            )
        else:
            log.info("deregistered stream consumer %s", self.consumer_arn)
