"""The exceptions aiokinesis raises, all under one root.

```
KinesisError
├── ClientError                   closed client, bad configuration, no credentials
│   ├── ClientClosedError         the client was closed
│   ├── NoCredentialsError        none given, and botocore's provider chain found none
│   └── ParamValidationError      a request breaks the model: which field, which limit
├── TransportError                the exchange with the service failed (may_have_reached_server)
│   ├── ConnectError              no connection: the request never left
│   ├── RequestTimeoutError       no answer in time
│   └── ConnectionLostError       reset or closed mid-exchange, a truncated or damaged body
├── ProtocolError                 an answer that does not fit the service model
├── WaiterError                   a waiter's deadline passed before the state was reached
├── LeaseLostError                this worker no longer holds the shard's lease; nothing was written
├── ConsumerDeletedError          the enhanced fan-out consumer a stream consumer reads through is gone
└── ServiceError                  the service answered an error (code, message, request_id, status)
    ├── ProvisionedThroughputExceededException, ExpiredIteratorException, ...  (one per Kinesis model error)
    ├── UnknownServiceError       a code the model does not name; the raw code is kept
    └── DynamoDBError             DynamoDB (the lease table) answered an error
        ├── ConditionalCheckFailedException (.item), ResourceNotFoundException, ...  (one per
        │                         DynamoDB model error, in aiokinesis._generated.dynamodb.errors)
        └── UnknownDynamoDBError  a code DynamoDB's model does not name (also an UnknownServiceError)
```
Kinesis and DynamoDB share error names (ResourceNotFoundException...) but never classes: each
service's answers are mapped through its own `ErrorTable`.
aiohttp and botocore exceptions never escape: they are translated in `_session` and chained.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

# botocore standard mode's classification, so retries behave as users of boto3 expect.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
THROTTLING_STATUS = 429


@dataclass(frozen=True, slots=True)
class RetryCodes:
    """Which error codes of one service are throttling, transient, or never retried whatever the status."""

    throttling: frozenset[str]
    transient: frozenset[str]
    never: frozenset[str] = frozenset()


STANDARD_RETRY_CODES = RetryCodes(THROTTLING_CODES, TRANSIENT_CODES)
# DynamoDB's developer guide marks TransactionConflictException "OK to retry" (the write was refused
# with no effect, its condition is evaluated again); the model marks ReplicatedWriteConflictException
# retryable. A failed condition is an answer to branch on, and a cancelled transaction carries its
# reasons: neither is ever retried here, whatever status a proxy or a local server gives them.
DYNAMODB_RETRY_CODES = RetryCodes(
    THROTTLING_CODES,
    TRANSIENT_CODES | {"TransactionConflictException", "ReplicatedWriteConflictException"},
    frozenset({"ConditionalCheckFailedException", "TransactionCanceledException"}),
)


class KinesisError(Exception):
    """Root of every exception aiokinesis raises."""


class ClientError(KinesisError):
    """The request was refused on this side: closed client, configuration, credentials."""


class ClientClosedError(ClientError):
    """The client was closed; open a new one."""


class ParamValidationError(ClientError):
    """A request broke one of the model's constraints; nothing was sent."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"invalid {field}: {problem}")
        self.field = field
        self.problem = problem

    def within(self, parent: str) -> ParamValidationError:
        """The same error with its field path prefixed by the enclosing field."""
        sep = "" if self.field.startswith("[") else "."
        return ParamValidationError(f"{parent}{sep}{self.field}", self.problem)


class TransportError(KinesisError):
    """The HTTP exchange failed; `may_have_reached_server` says whether a retry can duplicate."""

    may_have_reached_server: ClassVar[bool] = True
    retryable: ClassVar[bool] = True
    throttling: ClassVar[bool] = False


class ConnectError(TransportError):
    """No connection could be made; the request was not sent."""

    may_have_reached_server = False


class RequestTimeoutError(TransportError):
    """The server did not answer within the configured timeout."""


class ConnectionLostError(TransportError):
    """The connection was reset or closed mid-exchange, or the body came back truncated or damaged
    (a DynamoDB answer failing its x-amz-crc32)."""


class ProtocolError(KinesisError):
    """The server's answer does not fit the service's model (not JSON, a member missing or out of range).

    `member` is the path of the member at fault (`Records[0].ApproximateArrivalTimestamp`) when known."""

    def __init__(self, message: str, *, member: str | None = None) -> None:
        super().__init__(message)
        self.member = member


class WaiterError(KinesisError):
    """A waiter gave up: the resource did not reach the state in time."""


class LeaseLostError(KinesisError):
    """This worker no longer holds the shard's lease: another worker took it, or this one could not
    renew it within failover_time. Nothing was written; whoever holds the lease now reads the
    shard again from its last checkpoint."""

    def __init__(self, shard_id: str, reason: str) -> None:
        super().__init__(f"the lease of {shard_id} is lost: {reason}")
        self.shard_id = shard_id
        self.reason = reason


class ConsumerDeletedError(KinesisError):
    """The enhanced fan-out consumer (`enhanced_fan_out=`) was deregistered while reading through it:
    its subscriptions cannot go on, so the stream consumer's iteration ends with this error. The
    service's ResourceNotFoundException is its `__cause__`."""

    def __init__(self, consumer_arn: str, reason: str) -> None:
        super().__init__(f"the stream consumer {consumer_arn} is gone: {reason}")
        self.consumer_arn = consumer_arn
        self.reason = reason


class ServiceError(KinesisError):
    """The service answered with an error; subclasses are named as in the service model.

    `retry_codes` (per service root class) says which codes are throttling, transient or never retried."""

    retry_codes: ClassVar[RetryCodes] = STANDARD_RETRY_CODES

    def __init__(self, code: str, message: str, *, status: int, request_id: str | None) -> None:
        detail = f"{code}: {message}" if message else code
        super().__init__(f"{detail} (HTTP {status}, request id {request_id or 'none'})")
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id
        self.attempts = 1
        """The attempts of the call that ended in this error, this one included: more than one, and
        an earlier one may have done what this one found done (its answer lost)."""
        codes = self.retry_codes
        if code in codes.never:
            self.throttling = self.retryable = False
            return
        self.throttling = code in codes.throttling or (
            status == THROTTLING_STATUS and isinstance(self, UnknownServiceError)
        )
        self.retryable = self.throttling or code in codes.transient or status in TRANSIENT_STATUSES

    def read_members(self, answer: Mapping[str, Any]) -> None:
        """Keep the members the model gives this error besides its message (DynamoDB's `Item` of a
        failed condition); most errors have none. Called with the error's JSON answer."""


class UnknownServiceError(ServiceError):
    """An error code the service model does not name; `code` keeps it as sent."""


class DynamoDBError(ServiceError):
    """DynamoDB answered with an error: the lease table's service. Its classes are named as in its model."""

    retry_codes = DYNAMODB_RETRY_CODES


class UnknownDynamoDBError(DynamoDBError, UnknownServiceError):
    """An error code DynamoDB's model does not name (ValidationException is one); `code` keeps it as sent."""


class ErrorTable:
    """One service's error classes by code, and the class for codes its model does not name."""

    def __init__(self, unknown: type[ServiceError]) -> None:
        self.unknown = unknown
        self.modeled: dict[str, type[ServiceError]] = {}

    def register(self, classes: Iterable[type[ServiceError]]) -> None:
        """Called by a generated error module: its classes are named after the codes they stand for."""
        for cls in classes:
            self.modeled[cls.__name__] = cls

    def build(self, code: str, message: str, *, status: int, request_id: str | None) -> ServiceError:
        """The exception for one error answer: the model's class for the code, else the unknown class."""
        return self.modeled.get(code, self.unknown)(code, message, status=status, request_id=request_id)


KINESIS_ERRORS = ErrorTable(UnknownServiceError)
DYNAMODB_ERRORS = ErrorTable(UnknownDynamoDBError)


def service_error(code: str, message: str, *, status: int, request_id: str | None) -> ServiceError:
    """The exception for one Kinesis error answer: the model's class for the code, else UnknownServiceError.

    The one builder of Kinesis errors, for JSON error bodies and event-stream exception events alike."""
    return KINESIS_ERRORS.build(code, message, status=status, request_id=request_id)
