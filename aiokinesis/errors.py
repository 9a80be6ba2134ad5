"""The exceptions aiokinesis raises, all under one root.

```
KinesisError
├── ClientError                   closed client, bad configuration, no credentials
│   ├── ClientClosedError         the client was closed
│   ├── NoCredentialsError        none given, and botocore's provider chain found none
│   └── ParamValidationError      a request breaks the model: which field, which limit
├── TransportError                the exchange with Kinesis failed (may_have_reached_server)
│   ├── ConnectError              no connection: the request never left
│   ├── RequestTimeoutError       no answer in time
│   └── ConnectionLostError       reset or closed mid-exchange, or a truncated body
├── ProtocolError                 an answer that does not fit the service model
├── WaiterError                   a waiter's deadline passed before the state was reached
├── LeaseLostError                this worker no longer holds the shard's lease; nothing was written
└── ServiceError                  Kinesis answered an error (code, message, request_id, status)
    ├── ProvisionedThroughputExceededException, ExpiredIteratorException, ...  (one per model error)
    └── UnknownServiceError       a code the model does not name; the raw code is kept
```
aiohttp and botocore exceptions never escape: they are translated in `_session` and chained.
"""

from __future__ import annotations

from typing import ClassVar

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
    """The connection was reset or closed mid-exchange, or the body came back truncated."""


class ProtocolError(KinesisError):
    """The server's answer does not fit the Kinesis model (not JSON, or a required member missing)."""


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


class ServiceError(KinesisError):
    """Kinesis answered with an error; subclasses are named as in the service model."""

    def __init__(self, code: str, message: str, *, status: int, request_id: str | None) -> None:
        detail = f"{code}: {message}" if message else code
        super().__init__(f"{detail} (HTTP {status}, request id {request_id or 'none'})")
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id
        self.throttling = code in THROTTLING_CODES or (
            status == THROTTLING_STATUS and type(self) is UnknownServiceError
        )
        self.retryable = self.throttling or code in TRANSIENT_CODES or status in TRANSIENT_STATUSES


class UnknownServiceError(ServiceError):
    """An error code the service model does not name; `code` keeps it as sent."""
