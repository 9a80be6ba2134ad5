"""HTTPS against kinesis-mock's TLS port: the operations over aiohttp, enhanced fan-out over h2 (ALPN).

Its certificate is self-signed, for CN "Unknown" with no subjectAltName: no setting verifies it for
127.0.0.1. So the reading tests turn verification off; with it on (system trust, or that very
certificate as the CA bundle) the first call fails with a ConnectError saying why, on either
transport: the bundle is used (the chain is trusted, only the name is wrong).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import aiokinesis
from aiokinesis._http2 import Http2Stream
from tests.conftest import LOCAL_KEYS, create_active_stream
from tests.faults.test_consumer import assert_key_order, consume
from tests.kinesis_local.launch import CERTIFICATE

pytestmark = pytest.mark.integration

TRIM = aiokinesis.StartingPosition.trim_horizon()
NO_VERIFY = aiokinesis.HttpConfig(verify=False)
ONCE = aiokinesis.RetryConfig(max_attempts=1)


@pytest.fixture
def ca_bundle(tmp_path: Path) -> str:
    """kinesis-mock's own certificate (from its server.json) as a PEM CA bundle."""
    path = tmp_path / "kinesis-mock.pem"
    path.write_text(json.loads(CERTIFICATE.read_text())["server"]["cert"])
    return str(path)


async def test_the_consumer_reads_with_enhanced_fan_out_over_h2_on_tls(
    kinesis_mock_tls_url: str, stream_name: str
) -> None:
    async with aiokinesis.Client(endpoint_url=kinesis_mock_tls_url, http=NO_VERIFY, **LOCAL_KEYS) as kinesis:
        await create_active_stream(kinesis, stream_name, shards=4)
        for i in range(40):
            await kinesis.put_record(stream_name=stream_name, data=f"v{i}".encode(), partition_key=f"key-{i % 7}")
        async with kinesis.consumer(stream_name, start=TRIM, enhanced_fan_out="tls") as consumer:
            got = await consume(consumer, 40, checkpoint=False, max_wait=60)
            pool = kinesis._session.http2
            assert pool is not None
            assert [c.streams for c in pool.connections()] == [4]  # all four shards on one TLS connection
        assert pool.opened == 1
    assert sorted(r.data for r in got) == sorted(f"v{i}".encode() for i in range(40))
    assert_key_order(got)


async def test_subscribe_to_shard_negotiates_h2_by_alpn(kinesis_mock_tls_url: str, stream_name: str) -> None:
    async with aiokinesis.Client(endpoint_url=kinesis_mock_tls_url, http=NO_VERIFY, **LOCAL_KEYS) as kinesis:
        arn = await create_active_stream(kinesis, stream_name)
        consumer = (await kinesis.register_stream_consumer(stream_arn=arn, consumer_name="alpn")).consumer
        await kinesis.wait.consumer_active(consumer_arn=consumer.consumer_arn, delay=0.05, max_wait=30)
        out = await kinesis.subscribe_to_shard(
            consumer_arn=consumer.consumer_arn, shard_id="shardId-000000000000", starting_position=TRIM
        )
        async with out.event_stream as events:
            assert isinstance(events._stream, Http2Stream)


async def test_verification_against_the_self_signed_certificate_fails_json_calls_with_connect_error(
    kinesis_mock_tls_url: str, ca_bundle: str
) -> None:
    for verify, why in ((True, "self-signed certificate"), (ca_bundle, "IP address mismatch")):
        http = aiokinesis.HttpConfig(verify=verify)
        async with aiokinesis.Client(endpoint_url=kinesis_mock_tls_url, http=http, retry=ONCE, **LOCAL_KEYS) as kinesis:
            with pytest.raises(aiokinesis.ConnectError, match=f"ListStreams: cannot connect to .*{why}"):
                await kinesis.list_streams()


async def test_verification_against_the_self_signed_certificate_fails_subscriptions_with_connect_error(
    kinesis_mock_tls_url: str, stream_name: str, ca_bundle: str
) -> None:
    """The first call of these clients is the subscription: the HTTP/2 pool's own TLS connection fails."""
    async with aiokinesis.Client(endpoint_url=kinesis_mock_tls_url, http=NO_VERIFY, **LOCAL_KEYS) as setup:
        arn = await create_active_stream(setup, stream_name)
        consumer = (await setup.register_stream_consumer(stream_arn=arn, consumer_name="verify")).consumer
        await setup.wait.consumer_active(consumer_arn=consumer.consumer_arn, delay=0.05, max_wait=30)
    for verify, why in ((True, "self-signed certificate"), (ca_bundle, "IP address mismatch")):
        http = aiokinesis.HttpConfig(verify=verify)
        async with aiokinesis.Client(endpoint_url=kinesis_mock_tls_url, http=http, retry=ONCE, **LOCAL_KEYS) as kinesis:
            with pytest.raises(aiokinesis.ConnectError, match=f"SubscribeToShard: cannot connect to .*{why}"):
                await kinesis.subscribe_to_shard(
                    consumer_arn=consumer.consumer_arn, shard_id="shardId-000000000000", starting_position=TRIM
                )
            pool = kinesis._session.http2
            assert pool is not None
            assert pool.connections() == []
