"""Clients we did not write against aiokinesis.testing: boto3 (and the AWS CLI, in test_aws_cli).

The server runs on its own thread on 127.0.0.1, a free port; each client has dummy keys and makes
one attempt per call, so an error the server answers is the error the test sees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from aiokinesis.testing import KinesisServer, serve_in_thread

REGION = "eu-west-1"
ACCOUNT = "210987654321"


def boto3_client(server: KinesisServer, region: str = REGION) -> Any:
    return boto3.client(
        "kinesis",
        endpoint_url=server.endpoint_url,
        region_name=region,
        aws_access_key_id="AKIDCONFORMANCE",
        aws_secret_access_key="conformance-secret",
        config=Config(retries={"total_max_attempts": 1}),
    )


def error_code(call: Callable[..., Any], **request: Any) -> str:
    """The error code (`response["Error"]["Code"]`) boto3 parses from the call's answer."""
    with pytest.raises(ClientError) as caught:
        call(**request)
    return str(caught.value.response["Error"]["Code"])


@pytest.fixture
def local() -> Iterator[KinesisServer]:
    with serve_in_thread(port=0, account=ACCOUNT) as server:
        yield server
    # AWS's limits hold here too: a test that outran them passed by luck, not by the server.
    assert server.backend.throttled == 0


@pytest.fixture
def kinesis(local: KinesisServer) -> Any:
    return boto3_client(local)


WAIT = {"Delay": 0.05, "MaxAttempts": 200}
"""boto3's waiters, polling often (the server is local) for at most 10 s."""


def wait(kinesis: Any, waiter: str, name: str) -> None:
    """boto3's own waiter (stream_exists: ACTIVE; stream_not_exists: gone) on a stream."""
    kinesis.get_waiter(waiter).wait(StreamName=name, WaiterConfig=WAIT)


def create_stream(kinesis: Any, name: str, **options: Any) -> str:
    """Create a stream, wait with boto3's own waiter, return its ARN."""
    kinesis.create_stream(StreamName=name, **options)
    wait(kinesis, "stream_exists", name)
    arn: str = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    return arn
