"""The AWS JSON wire format (1.1 for Kinesis, 1.0 for DynamoDB): operation specs, codecs, error bodies.

Generated serializers call the small helpers here; error helpers build messages only
when a check fails, so the success path allocates nothing extra.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from .errors import KINESIS_ERRORS, ErrorTable, ParamValidationError, ProtocolError, ServiceError

JSON_1_1 = "application/x-amz-json-1.1"
JSON_1_0 = "application/x-amz-json-1.0"
CONTENT_TYPE = JSON_1_1
"""Kinesis's content type."""
_from_epoch = datetime.fromtimestamp


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationSpec:
    """What the session needs to send one operation: target header and endpoint inputs."""

    name: str
    target: str
    static_params: Mapping[str, str]
    context_params: tuple[tuple[str, str], ...]
    """(endpoint rule-set parameter, request member) pairs, e.g. ("StreamARN", "StreamARN")."""


def _discard(body: dict[str, Any]) -> None:
    """Parser of operations whose model has no output."""


def read_timestamp(value: float | int | str) -> datetime:
    """Epoch seconds (what AWS sends), or ISO 8601 text from lenient servers, as UTC.

    Anything else (a bool, a list) is a TypeError; numbers out of datetime's range raise
    OverflowError or ValueError: the session's parse guard turns each into a ProtocolError."""
    if isinstance(value, float):
        return _from_epoch(value, UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if isinstance(value, int) and not isinstance(value, bool):
        return _from_epoch(value, UTC)
    raise TypeError(f"a timestamp is epoch seconds or ISO 8601 text, not {type(value).__name__}")


def _token() -> str:
    """An idempotency token for a call that gives none: serialized once, so every retry repeats it."""
    return str(uuid.uuid4())


def field_at(parent: str, key: object) -> str:
    return f"{parent}[{key!r}]"


def view_bytes(field: str, view: memoryview) -> bytes:
    """A memoryview's bytes, copied: its len() counts the items of its first dimension (of an
    array("d"), a 2-D view), not bytes, and a strided one has no base64 as it is."""
    try:
        return view.tobytes()
    except ValueError as exc:  # a released view
        raise ParamValidationError(field, f"cannot be read as bytes: {exc}") from None


def _missing(field: str) -> ParamValidationError:
    return ParamValidationError(field, "is required")


def type_error(field: str, value: object, expected: str) -> ParamValidationError:
    return ParamValidationError(field, f"must be {expected}, not {type(value).__name__}")


def _naive(field: str) -> ParamValidationError:
    return ParamValidationError(field, "must be a timezone-aware datetime")


def _length(field: str, size: int, low: int, high: int | None, unit: str) -> ParamValidationError:
    if size < low:
        return ParamValidationError(field, f"has {size} {unit}, below the minimum of {low}")
    return ParamValidationError(field, f"has {size} {unit}, above the maximum of {high}")


def _below(field: str, value: int, low: int) -> ParamValidationError:
    return ParamValidationError(field, f"is {value}, below the minimum of {low}")


def _above(field: str, value: int, high: int) -> ParamValidationError:
    return ParamValidationError(field, f"is {value}, above the maximum of {high}")


def _mismatch(field: str, value: str, pattern: str) -> ParamValidationError:
    shown = value if len(value) <= 64 else value[:61] + "..."
    return ParamValidationError(field, f"{shown!r} does not match the pattern {pattern}")


def _union(field: str, tags: list[str], allowed: str) -> ParamValidationError:
    if not tags:
        return ParamValidationError(field, f"must have one member of {allowed}, not none")
    if len(tags) == 1:
        return ParamValidationError(field, f"has the member {tags[0]!r}; it must be one of {allowed}")
    shown = ", ".join(tags)
    return ParamValidationError(field, f"must have exactly one member of {allowed}, not {len(tags)} ({shown})")


def parse_error(
    status: int, headers: Mapping[str, str], body: bytes, errors: ErrorTable = KINESIS_ERRORS
) -> ServiceError:
    """The ServiceError for a non-2xx answer; empty or non-JSON bodies still get a code.

    `errors` is the answering service's table. Members the model gives the error (DynamoDB's `Item`)
    are kept when they fit; when they do not, the error stands without them."""
    request_id = headers.get("x-amzn-RequestId")
    code = headers.get("x-amzn-ErrorType", "")
    message = ""
    try:
        doc = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        doc = {}
    if isinstance(doc, dict):
        code = str(doc.get("__type") or doc.get("code") or code)
        message = str(doc.get("message") or doc.get("Message") or "")
    # "aws.protocols#Name" in __type, "Name:http://..." in the header.
    code = code.rpartition("#")[2].partition(":")[0]
    if not code:
        code = f"HTTP{status}"
        if not message and body:
            message = body[:200].decode("utf-8", "replace")
    error = errors.build(code, message, status=status, request_id=request_id)
    if isinstance(doc, dict):
        with contextlib.suppress(TypeError, ValueError, KeyError, AttributeError):
            error.read_members(doc)
    return error


def loads_object(body: bytes) -> dict[str, Any]:
    """A 2xx body as a JSON object; empty means no members."""
    if not body:
        return {}
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"the response is not JSON: {body[:100]!r}") from exc
    if not isinstance(doc, dict):
        raise ProtocolError(f"the response is not a JSON object: {body[:100]!r}")
    return doc
