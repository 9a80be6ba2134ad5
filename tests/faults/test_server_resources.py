"""aiokinesis.testing's tags and policies by ARN, and its account settings, called on the backend
directly (each request checked against the model first, as the server checks it)."""

from __future__ import annotations

import pytest

import aiokinesis
from aiokinesis.testing import ApiError, Backend, Fault, FaultKind, KinesisServer
from tests.conftest import LOCAL_KEYS
from tests.fakes import FakeTime
from tests.faults.backend_calls import call, refusal


@pytest.fixture
def backend() -> Backend:
    backend = Backend(clock=FakeTime().clock, account="111122223333", region="eu-west-1")
    backend.create_stream("s")
    backend.create_stream("od", mode="ON_DEMAND")
    return backend


def test_a_stream_that_is_not_active_keeps_its_tags(backend: Backend) -> None:
    arn = backend.streams["s"].arn
    call(backend, "TagResource", ResourceARN=arn, Tags={"k": "v"})
    backend.streams["s"].status = "UPDATING"
    for operation, request in (
        ("TagResource", {"Tags": {"x": "y"}}),
        ("UntagResource", {"TagKeys": ["k"]}),
    ):
        assert refusal(backend, operation, ResourceARN=arn, **request).code == "ResourceInUseException"
    assert refusal(backend, "AddTagsToStream", StreamName="s", Tags={"x": "y"}).code == "ResourceInUseException"
    assert refusal(backend, "RemoveTagsFromStream", StreamName="s", TagKeys=["k"]).code == "ResourceInUseException"
    assert call(backend, "ListTagsForResource", ResourceARN=arn) == {"Tags": [{"Key": "k", "Value": "v"}]}
    call(backend, "PutResourcePolicy", ResourceARN=arn, Policy="{}")  # policies are not tags


def test_resource_arns_are_found_only_in_their_account_and_region(backend: Backend) -> None:
    arn = backend.streams["s"].arn
    elsewhere = [
        arn.replace("111122223333", "999988887777"),
        arn.replace("eu-west-1", "eu-west-2"),
        arn.replace(":aws:", ":aws-cn:"),
    ]
    for other in elsewhere:
        error = refusal(backend, "ListTagsForResource", ResourceARN=other)
        assert (error.code, error.message) == ("ResourceNotFoundException", f"Stream {other} not found.")
    consumer = call(backend, "RegisterStreamConsumer", StreamARN=arn, ConsumerName="c")["Consumer"]["ConsumerARN"]
    stale = consumer.rpartition(":")[0] + ":1"  # a consumer of that name registered at another time
    assert refusal(backend, "GetResourcePolicy", ResourceARN=stale).message == f"Consumer {stale} not found."
    stream = backend.streams["od"].arn
    queue = call(backend, "CreateQueue", QueueName="q", StreamConfigurationList=[{"StreamARN": stream}])
    queue_arn = queue["QueueDescription"]["QueueARN"]
    with backend.in_region("eu-west-2"):
        assert refusal(backend, "ListTagsForResource", ResourceARN=queue_arn).code == "ResourceNotFoundException"
    call(backend, "DeleteQueue", QueueARN=queue_arn)
    assert refusal(backend, "TagResource", ResourceARN=queue_arn, Tags={"k": "v"}).message == (
        f"Queue {queue_arn} not found."
    )


def test_create_queue_and_register_consumer_take_tags_under_the_same_rules(backend: Backend) -> None:
    arn = backend.streams["s"].arn
    error = refusal(backend, "RegisterStreamConsumer", StreamARN=arn, ConsumerName="c", Tags={"aws:k": "v"})
    assert error.code == "InvalidArgumentException"
    assert backend.streams["s"].consumers == {}  # refused before anything was made
    many = {f"k{i}": "v" for i in range(51)}
    stream = backend.streams["od"].arn
    error = refusal(backend, "CreateQueue", QueueName="q", StreamConfigurationList=[{"StreamARN": stream}], Tags=many)
    assert (error.code, error.message) == (
        "InvalidArgumentException",
        "A resource can have at most 50 tags: this request would leave it with 51.",
    )
    assert backend.queues == {}
    queue = call(
        backend, "CreateQueue", QueueName="q", StreamConfigurationList=[{"StreamARN": stream}], Tags={"a": "1"}
    )["QueueDescription"]["QueueARN"]
    assert call(backend, "ListTagsForResource", ResourceARN=queue) == {"Tags": [{"Key": "a", "Value": "1"}]}
    unicode_ok = {"Größe ünd": "wert: 1/2 = +@_.-"}  # letters, digits, spaces and the allowed symbols
    call(backend, "TagResource", ResourceARN=queue, Tags=unicode_ok)


def test_direct_calls_get_a_validation_error_for_a_missing_commitment_status(backend: Backend) -> None:
    with pytest.raises(ApiError) as caught:
        backend.UpdateAccountSettings({})
    assert caught.value.code == "ValidationException"
    assert "minimumThroughputBillingCommitment.status" in caught.value.message


async def test_a_fault_aimed_at_a_stream_strikes_tag_resource_on_its_arn_only() -> None:
    async with KinesisServer(streams={"s": 1, "t": 1}) as server:
        fault = server.inject(Fault(kind=FaultKind.RESOURCE_NOT_FOUND, stream="s", operation="TagResource"))
        retry = aiokinesis.RetryConfig(max_attempts=1)
        async with aiokinesis.Client(endpoint_url=server.endpoint_url, retry=retry, **LOCAL_KEYS) as kinesis:
            await kinesis.tag_resource(resource_arn=server.backend.streams["t"].arn, tags={"k": "v"})
            assert fault.fired == 0
            with pytest.raises(aiokinesis.ResourceNotFoundException, match="injected"):
                await kinesis.tag_resource(resource_arn=server.backend.streams["s"].arn, tags={"k": "v"})
        assert fault.fired == 1
        assert server.backend.streams["s"].tags == {}
