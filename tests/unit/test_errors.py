"""Error answers become the model's exception classes, whatever the body looks like."""

from __future__ import annotations

import orjson
import pytest
from aioresponses import aioresponses

import aiokinesis
from aiokinesis._generated.errors import MODELED_ERRORS

from .conftest import ANY_URL

NO_RETRY = aiokinesis.RetryConfig(max_attempts=1)


@pytest.mark.parametrize("code", sorted(MODELED_ERRORS))
async def test_every_modeled_error_maps_to_its_class(code: str, kinesis: aiokinesis.Client, http: aioresponses) -> None:
    http.post(
        ANY_URL,
        status=400,
        body=orjson.dumps({"__type": f"com.amazonaws.kinesis.v20131202#{code}", "message": "it broke"}),
        headers={"x-amzn-RequestId": "req-1"},
        repeat=True,
    )
    with pytest.raises(MODELED_ERRORS[code]) as caught:
        await kinesis.describe_limits()
    error = caught.value
    assert type(error).__name__ == code
    assert isinstance(error, aiokinesis.ServiceError)
    assert isinstance(error, aiokinesis.KinesisError)
    assert (error.code, error.message, error.status, error.request_id) == (code, "it broke", 400, "req-1")
    assert "req-1" in str(error)
    assert "it broke" in str(error)


async def test_throttling_and_retryable_flags(kinesis: aiokinesis.Client, http: aioresponses) -> None:
    throttle = aiokinesis.ProvisionedThroughputExceededException(
        "ProvisionedThroughputExceededException", "", status=400, request_id=None
    )
    assert throttle.throttling
    assert throttle.retryable
    expired = aiokinesis.ExpiredIteratorException("ExpiredIteratorException", "", status=400, request_id=None)
    assert not expired.throttling
    assert not expired.retryable
    internal = aiokinesis.InternalFailureException("InternalFailureException", "", status=500, request_id=None)
    assert internal.retryable
    assert not internal.throttling
    kms = aiokinesis.KMSThrottlingException("KMSThrottlingException", "", status=400, request_id=None)
    assert not kms.retryable


async def test_unknown_code_keeps_the_raw_code(fake_time: object, http: aioresponses) -> None:
    from .conftest import make_client

    http.post(ANY_URL, status=400, body=b'{"__type": "IncompleteSignatureException", "message": "no date"}')
    async with make_client(fake_time, retry=NO_RETRY) as kinesis:  # type: ignore[arg-type]
        with pytest.raises(aiokinesis.UnknownServiceError) as caught:
            await kinesis.list_streams()
    assert caught.value.code == "IncompleteSignatureException"
    assert not caught.value.retryable


@pytest.mark.parametrize(
    ("status", "body", "headers", "code"),
    [
        (500, b"", {}, "HTTP500"),
        (503, b"<html>Service Unavailable</html>", {}, "HTTP503"),
        (
            400,
            b"",
            {"x-amzn-ErrorType": "ResourceNotFoundException:http://internal.amazon.com/"},
            "ResourceNotFoundException",
        ),
        (400, b"not json", {"x-amzn-ErrorType": "LimitExceededException"}, "LimitExceededException"),
        (429, b"{}", {}, "HTTP429"),
        (400, b'{"code": "ValidationException", "Message": "capital M"}', {}, "ValidationException"),
    ],
)
async def test_odd_error_bodies_still_get_a_code(
    status: int, body: bytes, headers: dict[str, str], code: str, fake_time: object, http: aioresponses
) -> None:
    from .conftest import make_client

    http.post(ANY_URL, status=status, body=body, headers=headers)
    async with make_client(fake_time, retry=NO_RETRY) as kinesis:  # type: ignore[arg-type]
        with pytest.raises(aiokinesis.ServiceError) as caught:
            await kinesis.list_streams()
    assert caught.value.code == code
    assert caught.value.status == status
    if status == 429:
        assert caught.value.throttling
    if status >= 500:
        assert caught.value.retryable


def test_the_wire_format_does_not_depend_on_generated_code() -> None:
    """_protocol sits below _generated (which imports it); the error classes come from a registry."""
    import ast
    from pathlib import Path

    import aiokinesis._protocol as protocol

    tree = ast.parse(Path(protocol.__file__).read_text())
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert imported
    assert not [name for name in imported if "_generated" in name]


def test_one_builder_makes_service_errors_for_bodies_and_events() -> None:
    from aiokinesis.errors import service_error

    error = service_error("ResourceInUseException", "busy", status=200, request_id="r")
    assert type(error) is aiokinesis.ResourceInUseException
    assert type(service_error("NoSuchCode", "", status=400, request_id=None)) is aiokinesis.UnknownServiceError
