"""A queue as the user names it: checked before anything is sent, looked up when a consumer opens.

A queue is given by name or by ARN; a name is found among the account's queues (ListQueues), and
the queue's description says the visibility timeout and MaxReceiveCount the consumer goes by.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..errors import KinesisError, ParamValidationError, service_error
from ..paginators import Paginators
from ._receiver import named

if TYPE_CHECKING:
    from .._generated.models import QueueDescription
    from .._generated.operations import Operations

_NAME = re.compile(r"[a-zA-Z0-9_.-]{1,128}")
_ARN = re.compile(r"arn:aws[^:\s]*:kinesis:[^:\s]*:\d{12}:queue/\S+", re.ASCII)  # as the model's patterns
_DEFAULT_VISIBILITY = 30
_DEFAULT_MAX_RECEIVES = 6


def check_queue(queue: object) -> bool:
    """Whether `queue` is an ARN (else a name); ParamValidationError if it is neither."""
    if not isinstance(queue, str):
        raise ParamValidationError("queue", f"must be a queue name or ARN (a str), not {type(queue).__name__}")
    if queue.startswith("arn:"):
        if len(queue) > 2048 or _ARN.fullmatch(queue) is None:
            raise ParamValidationError(
                "queue", f"{queue[:100]!r} is not a queue ARN (arn:aws:kinesis:REGION:ACCOUNT:queue/ID, at most 2048)"
            )
        return True
    if _NAME.fullmatch(queue) is None:
        raise ParamValidationError(
            "queue", f"{queue[:100]!r} is not a queue name (1 to 128 of A-Z a-z 0-9 _ . -) nor a queue ARN"
        )
    return False


async def describe_queue(kinesis: Operations, queue: str, arn: str | None) -> tuple[str, QueueDescription]:
    """The queue's ARN (a name is looked up if `arn` is None) and its description; errors name the queue."""
    try:
        if arn is None:
            arn = await _find(kinesis, queue)
        description = (await kinesis.describe_queue(queue_arn=arn)).queue_description
    except KinesisError as exc:
        named(exc, queue)
        raise
    return arn, description


async def _find(kinesis: Operations, name: str) -> str:
    async for summary in Paginators(kinesis).list_queues():
        if summary.queue_name == name:
            return summary.queue_arn
    raise service_error(
        "ResourceNotFoundException",
        f"no queue named {name} in this account and region",
        status=400,
        request_id=None,
    )


def visibility_timeout(description: QueueDescription) -> int:
    """The queue's own VisibilityTimeoutSeconds, or the service's default if it says none."""
    attributes = description.queue_attributes
    own = attributes.visibility_timeout_seconds if attributes is not None else None
    return own if own is not None else _DEFAULT_VISIBILITY


def max_receives(description: QueueDescription) -> int | None:
    """Receives after which a released record goes to the dead letters (counted as dead-lettered):
    the built-in dead-letter configuration's MaxReceiveCount, the default if there is none, None
    for another target type."""
    attributes = description.queue_attributes
    dead_letters = attributes.dead_letter_configuration if attributes is not None else None
    if dead_letters is None:
        return _DEFAULT_MAX_RECEIVES
    if dead_letters.target_type == "BUILT_IN":
        return dead_letters.max_receive_count
    return None
