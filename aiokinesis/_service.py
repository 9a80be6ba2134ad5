"""What differs between the AWS JSON services one Session speaks to, as data chosen at construction.

Kinesis and DynamoDB share everything else: SigV4, botocore's credential chain and endpoint rule
sets, the retry policy, the error-body format. So the session has one implementation, and the
descriptor holds only what the session reads once (to build its signer and endpoint resolver, and
which checksum header to check) or on an error path (error table, shapes): the per-call path reads
nothing from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ._diagnose import KINESIS_SHAPES, ShapeTables
from ._generated import errors as _kinesis_errors
from ._protocol import JSON_1_1
from .errors import KINESIS_ERRORS, ErrorTable, RetryCodes


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    """One AWS JSON-protocol service as the session needs it."""

    name: str
    """As messages name it: "Kinesis", "DynamoDB"."""
    signing_name: str
    """The SigV4 credential scope's service: "kinesis", "dynamodb"."""
    content_type: str
    """application/x-amz-json-1.1 (Kinesis) or -1.0 (DynamoDB): signed, and the server checks it."""
    target_prefix: str
    """Of every X-Amz-Target: the generated operation specs carry the whole target."""
    endpoint_rules: str
    """The botocore service whose endpoint-rule-set-1 picks the host."""
    endpoint_params: Mapping[str, str | bool]
    """Rule-set parameters every operation of the service gets (besides Region, UseFIPS, UseDualStack)."""
    errors: ErrorTable
    """Error code -> class; its `unknown` class carries the service's retry classification."""
    shapes: ShapeTables
    """The model as data: only read to name the member at fault when a request or answer misfits."""
    crc32_header: str | None = None
    """The answer header holding the CRC32 of the raw body, in decimal, if the service sends one
    (DynamoDB's x-amz-crc32; Kinesis sends none): a body that fails it is retried as a damaged one."""

    @property
    def retry_codes(self) -> RetryCodes:
        """Which codes are throttling, transient, or never retried."""
        return self.errors.unknown.retry_codes


assert _kinesis_errors.MODELED_ERRORS.keys() <= KINESIS_ERRORS.modeled.keys()  # registered on import

KINESIS = Service(
    name="Kinesis",
    signing_name="kinesis",
    content_type=JSON_1_1,
    target_prefix="Kinesis_20131202",
    endpoint_rules="kinesis",
    endpoint_params={},
    errors=KINESIS_ERRORS,
    shapes=KINESIS_SHAPES,
)
