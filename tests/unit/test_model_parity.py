"""Every waiter and paginator of botocore's Kinesis model (waiters-2, paginators-1) has ours, alike.

botocore's documents are read from the snapshot the generated code was made from (which the
freshness test holds equal to the pinned botocore), so a newer botocore's additions are reported
there rather than failing here. Where ours differ on purpose, DELIBERATE says so and why.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from aioresponses import CallbackResult, aioresponses
from botocore import xform_name

import aiokinesis
from aiokinesis.waiters import WAITERS, Acceptor, Waiters
from tests.fakes import FakeTime
from tests.models import document

from .conftest import ANY_URL

MODEL = document("kinesis", "service-2")
BOTO_WAITERS: dict[str, Any] = document("kinesis", "waiters-2")["waiters"]
BOTO_PAGINATORS: dict[str, Any] = document("kinesis", "paginators-1")["pagination"]
ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/s"
CHANNEL = "arn:aws:kinesis:us-east-1:123456789012:channel/c"


def snake_path(argument: str) -> str:
    return ".".join(xform_name(part) for part in argument.split("."))


def ours_expected(name: str, waiter: dict[str, Any]) -> dict[str, Any]:
    """botocore's waiter as ours should be, deliberate differences applied."""
    operation = waiter["operation"]
    acceptors = [
        Acceptor(
            state=a["state"], matcher=a["matcher"], expected=a["expected"], argument=snake_path(a.get("argument", ""))
        )
        for a in waiter["acceptors"]
    ]
    if operation == "DescribeStream":
        # DescribeStream lists the shards and allows 10 calls a second per account; DescribeStreamSummary
        # gives the same status without them.
        operation = "DescribeStreamSummary"
        acceptors = [
            Acceptor(
                state=a.state,
                matcher=a.matcher,
                expected=a.expected,
                argument=a.argument.replace("stream_description.", "stream_description_summary."),
            )
            for a in acceptors
        ]
    if name == "StreamExists":
        # botocore's fails on a stream not found; ours waits for it (one being created elsewhere, or a
        # read that does not see the CreateStream yet), as its docstring says.
        acceptors.append(Acceptor(state="retry", matcher="error", expected="ResourceNotFoundException"))
    return {
        "operation": operation,
        "delay": waiter["delay"],
        "max_attempts": waiter["maxAttempts"],
        "acceptors": tuple(acceptors),
    }


@pytest.mark.parametrize("name", sorted(BOTO_WAITERS))
def test_each_botocore_waiter_has_ours_alike(name: str) -> None:
    ours = WAITERS[name]
    assert hasattr(Waiters, xform_name(name))
    got = {"operation": ours.operation, "delay": ours.delay, "max_attempts": ours.max_attempts}
    assert {**got, "acceptors": ours.acceptors} == ours_expected(name, BOTO_WAITERS[name])


def test_ours_beyond_botocore_are_the_consumer_and_queue_waiters_only() -> None:
    assert set(WAITERS) - set(BOTO_WAITERS) == {"ConsumerActive", "QueueActive"}


def serve(http: aioresponses, reply: Any) -> list[tuple[str, dict[str, Any]]]:
    """Answer every request with reply(operation, body); returns (operation, body) of each."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def callback(url: Any, **kwargs: Any) -> CallbackResult:
        operation = kwargs["headers"]["X-Amz-Target"].split(".")[1]
        body = orjson.loads(kwargs["data"])
        seen.append((operation, body))
        status, answer = reply(operation, body)
        return CallbackResult(status=status, body=orjson.dumps(answer))

    http.post(ANY_URL, callback=callback, repeat=True)
    return seen


def build(name: str, n: int = 0) -> Any:
    """A minimal valid wire value of the shape: its required members, strings told apart by n."""
    shape = MODEL["shapes"][name]
    kind = shape["type"]
    if "enum" in shape:
        return shape["enum"][0]
    if kind == "structure":
        required = shape.get("required", [])
        return {m: build(ref["shape"], n) for m, ref in shape["members"].items() if m in required}
    values = {"list": [], "map": {}, "string": f"{name}-{n}", "boolean": False, "timestamp": 1700000000}
    return values.get(kind, 1)


def status_answer(waiter: str, status: str) -> dict[str, Any]:
    """An answer of the waiter's operation whose status (the path of its first acceptor) is status."""
    spec = WAITERS[waiter]
    answer: dict[str, Any] = build(MODEL["operations"][spec.operation]["output"]["shape"])
    outer, inner = spec.acceptors[0].argument.split(".")
    wire = next(key for key in answer if xform_name(key) == outer)
    status_key = next(key for key in answer[wire] if xform_name(key) == inner)
    answer[wire][status_key] = status
    return answer


WAIT_ARGS = {"StreamExists": {"stream_name": "s"}, "ChannelActive": {"channel_arn": CHANNEL}}
NOT_YET = {"StreamExists": "CREATING", "ChannelActive": "CREATING"}


@pytest.mark.parametrize("name", sorted(NOT_YET))
async def test_by_default_a_waiter_tries_botocores_attempts_its_delay_apart(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime, name: str
) -> None:
    """Regression: StreamExists made 19 attempts in its 180 s, botocore's makes 18."""
    seen = serve(http, lambda operation, body: (200, status_answer(name, NOT_YET[name])))
    with pytest.raises(aiokinesis.WaiterError, match="gave up"):
        await getattr(kinesis.wait, xform_name(name))(**WAIT_ARGS[name])
    boto = BOTO_WAITERS[name]
    assert len(seen) == boto["maxAttempts"]
    assert {operation for operation, _ in seen} == {WAITERS[name].operation}
    assert fake_time.sleeps == [boto["delay"]] * (boto["maxAttempts"] - 1)


async def test_channel_active_retries_creating_and_updating_and_returns_the_description(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    answers = iter(["CREATING", "UPDATING", "ACTIVE"])
    seen = serve(http, lambda operation, body: (200, status_answer("ChannelActive", next(answers))))
    found = await kinesis.wait.channel_active(channel_arn=CHANNEL, delay=3)
    assert found.channel_status == aiokinesis.ChannelStatus.ACTIVE
    assert seen == [("DescribeChannel", {"ChannelARN": CHANNEL})] * 3
    assert fake_time.sleeps == [3, 3]


@pytest.mark.parametrize("status", ["DELETING", "FAILED"])
async def test_channel_active_gives_up_at_once_on_a_state_it_cannot_leave(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime, status: str
) -> None:
    seen = serve(http, lambda operation, body: (200, status_answer("ChannelActive", status)))
    with pytest.raises(aiokinesis.WaiterError, match=f"to be ACTIVE: it is {status}"):
        await kinesis.wait.channel_active(channel_arn=CHANNEL)
    assert (len(seen), fake_time.sleeps) == (1, [])


async def test_channel_active_raises_an_error_no_acceptor_names(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    serve(http, lambda operation, body: (400, {"__type": "ResourceNotFoundException", "message": "no channel"}))
    with pytest.raises(aiokinesis.ResourceNotFoundException, match="no channel"):
        await kinesis.wait.channel_active(channel_arn=CHANNEL)
    assert fake_time.sleeps == []


async def test_consumer_active_gives_up_at_once_on_deleting(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    seen = serve(http, lambda operation, body: (200, status_answer("ConsumerActive", "DELETING")))
    with pytest.raises(aiokinesis.WaiterError, match="it is DELETING"):
        await kinesis.wait.consumer_active(consumer_arn=f"{ARN}/consumer/c:1")
    assert (len(seen), fake_time.sleeps) == (1, [])


PAGINATE_ARGS: dict[str, dict[str, Any]] = {
    "DescribeStream": {"stream_name": "s"},
    "ListShards": {"stream_name": "s"},
    "ListStreamConsumers": {"stream_arn": ARN},
}
FIRST_RESULT_ONLY = {"ListStreams"}
"""ListStreams's result keys are StreamNames and StreamSummaries: ours yields the names (one kind of item
an iterator), which the summaries repeat."""
ITEMS, PAGE = 5, 2


def put(doc: dict[str, Any], path: str, value: Any) -> None:
    *outer, last = path.split(".")
    for key in outer:
        doc = doc[key]
    doc[last] = value


def item_id(item: Any) -> str:
    """The first string of a wire item (build() makes them tell items apart)."""
    return item if isinstance(item, str) else next(v for v in item.values() if isinstance(v, str))


def yielded_id(got: Any, wire: Any) -> str:
    """item_id of what our paginator yielded for the wire item."""
    if isinstance(got, str):
        return got
    member = next(key for key, value in wire.items() if isinstance(value, str))
    value: str = getattr(got, xform_name(member))
    return value


@pytest.mark.parametrize("operation", sorted(BOTO_PAGINATORS))
async def test_each_botocore_paginator_has_ours_with_its_tokens(
    kinesis: aiokinesis.Client, http: aioresponses, operation: str
) -> None:
    """A server paging by botocore's paginator (input and output token, limit key, result key, more
    results) is read to the end by ours, every item once, each page asked for with the last token."""
    spec = BOTO_PAGINATORS[operation]
    result_keys = spec["result_key"] if isinstance(spec["result_key"], list) else [spec["result_key"]]
    result_key = result_keys[0]
    item_shape = MODEL["shapes"][MODEL["operations"][operation]["output"]["shape"]]
    for part in result_key.split("."):
        item_shape = MODEL["shapes"][item_shape["members"][part]["shape"]]
    items = [build(item_shape["member"]["shape"], n) for n in range(ITEMS)]
    by_last = spec["output_token"].endswith("[-1]." + spec["output_token"].rsplit(".", 1)[-1])
    tokens: list[str | None] = []

    def reply(op: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        assert op == operation
        token = body.get(spec["input_token"])
        tokens.append(token)
        assert len(tokens) <= ITEMS, "the paginator does not move on"
        if token is None:
            first = 0
        elif by_last:
            first = next(n + 1 for n, item in enumerate(items) if item_id(item) == token)
        else:
            first = int(token)
        page = items[first : first + PAGE]
        more = first + PAGE < ITEMS
        answer = build(MODEL["operations"][operation]["output"]["shape"])
        put(answer, result_key, page)
        if not by_last and more:
            put(answer, spec["output_token"], str(first + PAGE))
        if "more_results" in spec:
            put(answer, spec["more_results"], more)
        assert body[spec["limit_key"]] == PAGE
        return 200, answer

    serve(http, reply)
    paginate = getattr(kinesis.paginate, xform_name(operation))
    limit = {xform_name(spec["limit_key"]): PAGE}
    got = [item async for item in paginate(**PAGINATE_ARGS.get(operation, {}), **limit)]
    want = [item_id(i) for i in items]
    assert [yielded_id(g, i) for g, i in zip(got, items, strict=True)] == want
    expected_tokens = [None] + [want[n - 1] if by_last else str(n) for n in range(PAGE, ITEMS, PAGE)]
    assert tokens == expected_tokens
    assert len(result_keys) == 1 or operation in FIRST_RESULT_ONLY
