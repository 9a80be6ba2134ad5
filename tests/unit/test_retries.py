"""botocore standard-mode retries, driven by a fake clock: no test waits in wall time."""

from __future__ import annotations

import aiohttp
import orjson
import pytest
from aioresponses import aioresponses

import aiokinesis
from aiokinesis._retry import RetryPolicy
from tests.fakes import FakeTime

from .conftest import ANY_URL, make_client

THROTTLED = orjson.dumps({"__type": "ProvisionedThroughputExceededException", "message": "slow down"})
INTERNAL = orjson.dumps({"__type": "InternalFailureException", "message": "oops"})
OK = orjson.dumps({"ShardId": "shardId-000000000000", "SequenceNumber": "1"})


async def put(kinesis: aiokinesis.Client) -> aiokinesis.PutRecordOutput:
    return await kinesis.put_record(stream_name="s", data=b"x", partition_key="k")


async def test_throttling_backs_off_from_one_second(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    http.post(ANY_URL, status=400, body=THROTTLED)
    http.post(ANY_URL, status=400, body=THROTTLED)
    http.post(ANY_URL, body=OK)
    out = await put(kinesis)
    assert out.sequence_number == "1"
    assert fake_time.sleeps == [1.0, 2.0]  # rand() is 1.0: the full window


async def test_transient_errors_back_off_from_50_ms(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    http.post(ANY_URL, status=500, body=INTERNAL)
    http.post(ANY_URL, status=503, body=b"")
    http.post(ANY_URL, body=OK)
    await put(kinesis)
    assert fake_time.sleeps == [0.05, 0.1]


async def test_gives_up_after_max_attempts_with_the_last_error(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    http.post(ANY_URL, status=400, body=THROTTLED, repeat=True)
    with pytest.raises(aiokinesis.ProvisionedThroughputExceededException):
        await put(kinesis)
    assert len(fake_time.sleeps) == 2


async def test_the_last_error_raised_is_the_last_attempts_own_unchained(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    """The first attempt is made inline and the others in a loop: the error raised carries the
    attempts made and no earlier attempt's error as its context."""
    http.post(ANY_URL, status=500, body=INTERNAL)
    http.post(ANY_URL, status=400, body=THROTTLED)
    last = orjson.dumps({"__type": "ProvisionedThroughputExceededException", "message": "3"})
    http.post(ANY_URL, status=400, body=last)
    with pytest.raises(aiokinesis.ProvisionedThroughputExceededException, match="3") as caught:
        await put(kinesis)
    assert caught.value.attempts == 3
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None
    assert fake_time.sleeps == [0.05, 2.0]


async def test_a_retry_that_succeeds_refunds_what_it_spent(fake_time: FakeTime, http: aioresponses) -> None:
    config = aiokinesis.RetryConfig(max_attempts=3, quota=28, retry_cost=14)
    async with make_client(fake_time, retry=config) as kinesis:
        policy = kinesis._session.retry
        http.post(ANY_URL, status=500, body=INTERNAL)
        http.post(ANY_URL, body=OK)
        await put(kinesis)
        assert policy.quota.available == 28  # 14 spent on the retry, paid back by its success


@pytest.mark.parametrize(
    "code", ["ExpiredIteratorException", "InvalidArgumentException", "ValidationException", "KMSThrottlingException"]
)
async def test_never_retried(code: str, kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime) -> None:
    http.post(ANY_URL, status=400, body=orjson.dumps({"__type": code, "message": "no"}), repeat=True)
    with pytest.raises(aiokinesis.ServiceError) as caught:
        await kinesis.get_records(shard_iterator="it")
    assert caught.value.code == code
    assert fake_time.sleeps == []


async def test_delay_is_capped(fake_time: FakeTime, http: aioresponses) -> None:
    http.post(ANY_URL, status=400, body=THROTTLED, repeat=True)
    config = aiokinesis.RetryConfig(max_attempts=8, max_delay=5.0)
    async with make_client(fake_time, retry=config) as kinesis:
        with pytest.raises(aiokinesis.ProvisionedThroughputExceededException):
            await put(kinesis)
    assert fake_time.sleeps == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0]


async def test_jitter_uses_the_injected_random(fake_time: FakeTime, http: aioresponses) -> None:
    http.post(ANY_URL, status=400, body=THROTTLED)
    http.post(ANY_URL, body=OK)
    async with make_client(fake_time, rand=lambda: 0.25) as kinesis:
        await put(kinesis)
    assert fake_time.sleeps == [0.25]


async def test_transport_errors_are_retried_then_raised(
    kinesis: aiokinesis.Client, http: aioresponses, fake_time: FakeTime
) -> None:
    http.post(ANY_URL, exception=aiohttp.ServerDisconnectedError())
    http.post(ANY_URL, body=OK)
    await put(kinesis)
    assert fake_time.sleeps == [0.05]

    http.post(ANY_URL, exception=aiohttp.ServerDisconnectedError(), repeat=True)
    with pytest.raises(aiokinesis.ConnectionLostError) as caught:
        await put(kinesis)
    assert isinstance(caught.value.__cause__, aiohttp.ServerDisconnectedError)
    assert caught.value.may_have_reached_server


@pytest.mark.parametrize(
    ("raised", "expected", "reached"),
    [
        (
            aiohttp.ClientConnectorError(
                aiohttp.client_reqrep.ConnectionKey("h", 1, False, True, None, None, None), OSError(111, "refused")
            ),
            aiokinesis.ConnectError,
            False,
        ),
        (aiohttp.ConnectionTimeoutError(), aiokinesis.ConnectError, False),
        (aiohttp.SocketTimeoutError(), aiokinesis.RequestTimeoutError, True),
        (TimeoutError(), aiokinesis.RequestTimeoutError, True),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), aiokinesis.ConnectionLostError, True),
        (aiohttp.ClientPayloadError("truncated"), aiokinesis.ConnectionLostError, True),
        (aiohttp.ClientResponseError(None, (), status=400), aiokinesis.TransportError, True),  # type: ignore[arg-type]
    ],
)
async def test_aiohttp_errors_are_translated(
    raised: Exception, expected: type[aiokinesis.TransportError], reached: bool, fake_time: FakeTime, http: aioresponses
) -> None:
    http.post(ANY_URL, exception=raised)
    async with make_client(fake_time, retry=aiokinesis.RetryConfig(max_attempts=1)) as kinesis:
        with pytest.raises(expected) as caught:
            await put(kinesis)
    assert type(caught.value) is expected
    assert caught.value.__cause__ is raised
    assert caught.value.may_have_reached_server is reached


async def test_retry_quota_stops_a_storm_and_successes_refill_it(fake_time: FakeTime, http: aioresponses) -> None:
    config = aiokinesis.RetryConfig(max_attempts=3, quota=28, retry_cost=14)
    async with make_client(fake_time, retry=config) as kinesis:
        policy: RetryPolicy = kinesis._session.retry
        http.post(ANY_URL, status=500, body=INTERNAL, repeat=True)
        with pytest.raises(aiokinesis.InternalFailureException):
            await put(kinesis)
        assert policy.quota.available == 0
        assert len(fake_time.sleeps) == 2
        with pytest.raises(aiokinesis.InternalFailureException):
            await put(kinesis)  # no quota: fails at once
        assert len(fake_time.sleeps) == 2

    http.clear()
    async with make_client(fake_time, retry=config) as kinesis:
        policy = kinesis._session.retry
        policy.quota.available = 14
        http.post(ANY_URL, status=500, body=INTERNAL)
        http.post(ANY_URL, body=OK)
        await put(kinesis)  # one retry spends 14, its success pays 14 back
        assert policy.quota.available == 14
        http.post(ANY_URL, body=OK)
        await put(kinesis)  # a first-try success pays back 1
        assert policy.quota.available == 15


async def test_throttling_retries_cost_less_quota(fake_time: FakeTime, http: aioresponses) -> None:
    async with make_client(fake_time) as kinesis:
        http.post(ANY_URL, status=400, body=THROTTLED, repeat=True)
        with pytest.raises(aiokinesis.ProvisionedThroughputExceededException):
            await put(kinesis)
        assert kinesis._session.retry.quota.available == 500 - 2 * 5


def test_retry_config_rejects_zero_attempts() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        aiokinesis.RetryConfig(max_attempts=0)
