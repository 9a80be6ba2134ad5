"""The AWS CLI against aiokinesis.testing, run for real: `aws --endpoint-url ... kinesis ...` in a
subprocess with dummy keys and none of the developer's AWS set-up. Skipped where `aws` is missing
or does not start."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from aiokinesis.testing import KinesisServer, serve_in_thread
from tests.conformance.sdks.conftest import ACCOUNT, REGION

BOUND = 60.0
"""Seconds one command may take before the test gives up on it (a bound on hangs, not a timing check)."""


@pytest.fixture(scope="module")
def aws() -> list[str]:
    """The command and the options every run takes (v2 reads blobs as base64 unless told)."""
    found = shutil.which("aws")
    if found is None:
        pytest.skip("the AWS CLI (aws) is not on PATH")
    try:
        version = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=BOUND, env=environment())
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"the AWS CLI does not start: {error}")
    if version.returncode != 0:
        pytest.skip(f"the AWS CLI does not start: {version.stderr.strip()}")
    command = [found, "--output", "json", "--region", REGION]
    if (version.stdout + version.stderr).startswith("aws-cli/2"):
        command += ["--cli-binary-format", "raw-in-base64-out"]
    return command


@pytest.fixture
def local() -> Iterator[KinesisServer]:
    with serve_in_thread(port=0, account=ACCOUNT) as server:
        yield server


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="AKIDCLI",
        AWS_SECRET_ACCESS_KEY="cli-secret",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_PAGER="",
    )
    return env


def run(aws: list[str], server: KinesisServer, *args: str, fails: bool = False) -> Any:
    """One `aws kinesis ...` run; its JSON output (None when it prints nothing), or, if it is to
    fail (exit code 254 in v2, 255 in v1, for an error the service answered), its stderr."""
    done = subprocess.run(
        [*aws, "--endpoint-url", server.endpoint_url, "kinesis", *args],
        capture_output=True,
        text=True,
        timeout=BOUND,
        env=environment(),
    )
    assert done.returncode in ((254, 255) if fails else (0,)), done.stderr
    if fails:
        return done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_the_aws_cli_drives_streams_records_and_tags(aws: list[str], local: KinesisServer) -> None:
    run(aws, local, "create-stream", "--stream-name", "cli", "--shard-count", "2")
    run(aws, local, "wait", "stream-exists", "--stream-name", "cli")
    assert run(aws, local, "list-streams")["StreamNames"] == ["cli"]
    summary = run(aws, local, "describe-stream-summary", "--stream-name", "cli")["StreamDescriptionSummary"]
    arn = summary["StreamARN"]
    assert (arn, summary["OpenShardCount"]) == (f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/cli", 2)
    assert len(run(aws, local, "list-shards", "--stream-name", "cli")["Shards"]) == 2

    put = run(aws, local, "put-record", "--stream-name", "cli", "--partition-key", "k", "--data", "hello")
    iterator = run(
        aws, local, "get-shard-iterator", "--stream-name", "cli", "--shard-id", put["ShardId"],
        "--shard-iterator-type", "TRIM_HORIZON",
    )["ShardIterator"]  # fmt: skip
    records = run(aws, local, "get-records", "--shard-iterator", iterator)["Records"]
    assert [base64.b64decode(r["Data"]) for r in records] == [b"hello"]

    run(aws, local, "tag-resource", "--resource-arn", arn, "--tags", "team=data")
    run(aws, local, "add-tags-to-stream", "--stream-name", "cli", "--tags", "env=test")
    assert run(aws, local, "list-tags-for-resource", "--resource-arn", arn)["Tags"] == [
        {"Key": "env", "Value": "test"},
        {"Key": "team", "Value": "data"},
    ]
    assert run(aws, local, "list-tags-for-stream", "--stream-name", "cli")["Tags"] == [
        {"Key": "env", "Value": "test"},
        {"Key": "team", "Value": "data"},
    ]
    run(aws, local, "untag-resource", "--resource-arn", arn, "--tag-keys", "team")
    policy = '{"Version":"2012-10-17","Statement":[]}'
    run(aws, local, "put-resource-policy", "--resource-arn", arn, "--policy", policy)
    assert run(aws, local, "get-resource-policy", "--resource-arn", arn) == {"Policy": policy}
    run(aws, local, "delete-resource-policy", "--resource-arn", arn)
    assert "ResourceNotFoundException" in run(aws, local, "get-resource-policy", "--resource-arn", arn, fails=True)

    settings = run(aws, local, "update-account-settings", "--minimum-throughput-billing-commitment", "Status=ENABLED")[
        "MinimumThroughputBillingCommitment"
    ]
    assert settings["Status"] == "ENABLED"
    assert run(aws, local, "describe-account-settings")["MinimumThroughputBillingCommitment"]["Status"] == "ENABLED"
    run(aws, local, "delete-stream", "--stream-name", "cli")
    run(aws, local, "wait", "stream-not-exists", "--stream-name", "cli")
    assert "ResourceNotFoundException" in run(aws, local, "describe-stream", "--stream-name", "cli", fails=True)
