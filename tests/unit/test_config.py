"""Config classes check every field when built: the error names `ClassName.field`, the value and the range."""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import pytest

import aiokinesis
from aiokinesis import ConsumerConfig, FanOutConfig, HttpConfig, ProducerConfig, ReaderConfig, RetryConfig

CLASSES = (HttpConfig, RetryConfig, ReaderConfig, FanOutConfig, ConsumerConfig, ProducerConfig)
MIB = 1024 * 1024
NAN, INF = math.nan, math.inf

# (class, field, bad value, words the message must hold besides the field's name and the value)
OUT_OF_RANGE: list[tuple[type, str, Any, str]] = [
    (HttpConfig, "max_connections", 0, ">= 1"),
    (HttpConfig, "keepalive_timeout", 0, "> 0 seconds"),
    (HttpConfig, "connect_timeout", -1, "> 0 seconds"),
    (HttpConfig, "read_timeout", 0.0, "> 0 seconds"),
    (HttpConfig, "max_streams_per_connection", 0, "between 1 and 1000"),
    (HttpConfig, "max_streams_per_connection", 1001, "between 1 and 1000"),
    (HttpConfig, "ping_interval", 0, "> 0 seconds"),
    (HttpConfig, "ping_timeout", -1, "> 0 seconds"),
    (RetryConfig, "max_attempts", 0, "between 1 and 100"),
    (RetryConfig, "max_attempts", 101, "between 1 and 100"),
    (RetryConfig, "base_delay", -0.1, ">= 0 seconds"),
    (RetryConfig, "throttle_base_delay", -1, ">= 0 seconds"),
    (RetryConfig, "max_delay", -1, ">= 0 seconds"),
    (RetryConfig, "quota", -1, ">= 0"),
    (RetryConfig, "retry_cost", -1, ">= 0"),
    (RetryConfig, "throttle_retry_cost", -1, ">= 0"),
    (RetryConfig, "success_refund", -1, ">= 0"),
    (ReaderConfig, "limit", 0, "between 1 and 10000"),
    (ReaderConfig, "limit", 10001, "between 1 and 10000"),
    (ReaderConfig, "min_interval", -0.2, ">= 0 seconds"),
    (ReaderConfig, "read_bytes_per_second", 0, "> 0 bytes per second"),
    (ReaderConfig, "idle_interval", 0, ">= 0.01 seconds"),
    (ReaderConfig, "throttle_base_delay", 0, "> 0 seconds"),
    (ReaderConfig, "error_base_delay", 0, "> 0 seconds"),
    (ReaderConfig, "max_delay", 0, "> 0 seconds"),
    (FanOutConfig, "subscribe_interval", -1, ">= 0 seconds"),
    (FanOutConfig, "in_use_delay", -0.5, ">= 0 seconds"),
    (FanOutConfig, "silence_timeout", 0, "> 0 seconds"),
    (FanOutConfig, "error_base_delay", 0, "> 0 seconds"),
    (FanOutConfig, "throttle_base_delay", 0, "> 0 seconds"),
    (FanOutConfig, "max_delay", 0, "> 0 seconds"),
    (FanOutConfig, "active_poll_interval", 0.001, ">= 0.01 seconds"),
    (FanOutConfig, "active_timeout", 0, "> 0 seconds"),
    (ConsumerConfig, "max_buffered_batches", 0, ">= 1"),
    (ConsumerConfig, "checkpoint_interval", 0, ">= 0.01 seconds"),
    (ConsumerConfig, "list_shards_interval", 0, ">= 0.01 seconds"),
    (ConsumerConfig, "list_shards_interval", 0.001, ">= 0.01 seconds"),
    (ConsumerConfig, "failover_time", 0.2, ">= 0.3 seconds"),
    (ConsumerConfig, "max_leases_to_steal", -1, ">= 0"),
    (ConsumerConfig, "max_leases", 0, ">= 1"),
    (ProducerConfig, "linger", -1, ">= 0 seconds"),
    (ProducerConfig, "max_in_flight", 0, ">= 1"),
    (ProducerConfig, "max_batch_records", 0, "between 1 and 500"),
    (ProducerConfig, "max_batch_records", 501, "between 1 and 500"),
    (ProducerConfig, "max_batch_bytes", MIB - 1, "between 1048576 bytes (1 MiB) and 10485760 bytes (10 MiB)"),
    (ProducerConfig, "max_batch_bytes", 10 * MIB + 1, "between 1048576 bytes (1 MiB) and 10485760 bytes (10 MiB)"),
    (ProducerConfig, "max_buffered_records", 0, ">= 1"),
    (ProducerConfig, "max_buffered_bytes", 0, ">= 1 byte"),
    (ProducerConfig, "when_full", "drop", "'wait' or 'raise'"),
    (ProducerConfig, "record_ttl", 0, "> 0 seconds"),
    (ProducerConfig, "rate_limit", -0.5, "0 (off) or between 0.01 and 10"),
    (ProducerConfig, "rate_limit", 0.005, "0 (off) or between 0.01 and 10"),
    (ProducerConfig, "rate_limit", 10.5, "0 (off) or between 0.01 and 10"),
    (ProducerConfig, "retry_base_delay", 0, "> 0 seconds"),
    (ProducerConfig, "retry_max_delay", 0, "> 0 seconds"),
    (ProducerConfig, "aggregation_max_bytes", 0, "between 1 byte and 10485760 bytes (10 MiB)"),
    (ProducerConfig, "aggregation_max_bytes", 10 * MIB + 1, "between 1 byte and 10485760 bytes (10 MiB)"),
]

# (class, {fields}, the field named, the limit named): fields that must agree with another
CONTRADICTIONS: list[tuple[type, dict[str, Any], str, str]] = [
    (RetryConfig, {"base_delay": 2.0, "max_delay": 1.0}, "base_delay", "<= RetryConfig.max_delay (1.0)"),
    (RetryConfig, {"max_delay": 0.5}, "throttle_base_delay", "<= RetryConfig.max_delay (0.5)"),
    (ReaderConfig, {"max_delay": 0.5}, "throttle_base_delay", "<= ReaderConfig.max_delay (0.5)"),
    (
        ReaderConfig,
        {"throttle_base_delay": 0.01, "error_base_delay": 0.1, "max_delay": 0.05},
        "error_base_delay",
        "<= ReaderConfig.max_delay",
    ),
    (FanOutConfig, {"max_delay": 0.5}, "throttle_base_delay", "<= FanOutConfig.max_delay (0.5)"),
    (
        FanOutConfig,
        {"throttle_base_delay": 0.01, "error_base_delay": 0.1, "max_delay": 0.05},
        "error_base_delay",
        "<= FanOutConfig.max_delay",
    ),
    (ProducerConfig, {"linger": 30.0}, "linger", "< ProducerConfig.record_ttl (30.0)"),
    (ProducerConfig, {"retry_max_delay": 0.05}, "retry_base_delay", "<= ProducerConfig.retry_max_delay (0.05)"),
    (
        ProducerConfig,
        {"aggregation_max_bytes": 2 * MIB, "max_batch_bytes": MIB},
        "aggregation_max_bytes",
        "<= ProducerConfig.max_batch_bytes (1048576)",
    ),
]

# Values on the edge of each range, and the other fields they need: all accepted.
BOUNDARIES: list[tuple[type, dict[str, Any]]] = [
    (HttpConfig, {"max_connections": 1, "keepalive_timeout": 0.001, "connect_timeout": 1e-3, "read_timeout": 0.05}),
    (HttpConfig, {"max_streams_per_connection": 1, "ping_interval": 1e-3, "ping_timeout": 1e-3, "verify": False}),
    (HttpConfig, {"max_streams_per_connection": 1000, "http2": False, "verify": "/etc/ssl/certs/ca.pem"}),
    (RetryConfig, {"max_attempts": 1, "base_delay": 0, "throttle_base_delay": 0, "max_delay": 0}),
    (RetryConfig, {"max_attempts": 100, "quota": 0, "retry_cost": 0, "throttle_retry_cost": 0, "success_refund": 0}),
    (RetryConfig, {"base_delay": 20.0, "throttle_base_delay": 20, "max_delay": 20}),
    (ReaderConfig, {"limit": 1, "min_interval": 0, "idle_interval": 0.01, "read_bytes_per_second": 1e15}),
    (ReaderConfig, {"limit": 10000, "throttle_base_delay": 0.001, "error_base_delay": 0.001, "max_delay": 0.001}),
    (ConsumerConfig, {"max_buffered_batches": 1, "checkpoint_interval": 0.01, "list_shards_interval": 0.01}),
    (ConsumerConfig, {"checkpoint_interval": None, "reader": ReaderConfig(limit=5)}),
    (FanOutConfig, {"subscribe_interval": 0, "in_use_delay": 0, "silence_timeout": 0.001, "active_timeout": 0.001}),
    (FanOutConfig, {"error_base_delay": 0.001, "throttle_base_delay": 0.001, "max_delay": 0.001}),
    (FanOutConfig, {"active_poll_interval": 0.01}),
    (ConsumerConfig, {"fan_out": FanOutConfig(silence_timeout=1)}),
    (ProducerConfig, {"linger": 0, "record_ttl": 0.001, "max_in_flight": 1, "max_batch_records": 1}),
    (ProducerConfig, {"max_batch_records": 500, "max_batch_bytes": MIB, "max_buffered_records": 1}),
    (ProducerConfig, {"max_batch_bytes": 10 * MIB, "aggregation_max_bytes": 10 * MIB, "max_buffered_bytes": 10 * MIB}),
    (ProducerConfig, {"aggregation_max_bytes": 1, "rate_limit": 0, "aggregate": True, "ordering": False}),
    (ProducerConfig, {"rate_limit": 0.01, "retry_base_delay": 0.002, "retry_max_delay": 0.002, "when_full": "raise"}),
    (ProducerConfig, {"rate_limit": 10, "linger": 29.999}),
]

FLOAT_FIELDS = [
    (cls, f.name) for cls in CLASSES for f in dataclasses.fields(cls) if f.type in ("float", "float | None")
]
INT_FIELDS = [(cls, f.name) for cls in CLASSES for f in dataclasses.fields(cls) if f.type == "int"]
BOOL_FIELDS = [(cls, f.name) for cls in CLASSES for f in dataclasses.fields(cls) if f.type == "bool"]


def named(cls: type, field: str, value: Any) -> str:
    """A pattern for a message that names the field and shows the value."""
    return rf"^{cls.__name__}\.{field} must be .*, not {re.escape(repr(value))}"


@pytest.mark.parametrize("cls", CLASSES)
def test_defaults_construct(cls: type) -> None:
    config = cls()
    assert dataclasses.replace(config) == config  # every default passed back explicitly is accepted too


def test_lease_timing_defaults_are_the_kcl_s() -> None:
    """failoverTime 10 s, renewals every third less 25 ms, balance rounds every 2 x (failover + 25 ms),
    one lease stolen a round, no cap; the table is looked at every (failover + 25 ms) / 2."""
    config = ConsumerConfig()
    assert (config.failover_time, config.max_leases_to_steal, config.max_leases) == (10.0, 1, None)
    assert config.lease_renew_interval == pytest.approx(10 / 3 - 0.025)
    assert config.lease_balance_interval == pytest.approx(20.05)
    assert config.lease_scan_interval == pytest.approx(5.0125)
    assert ConsumerConfig(failover_time=4.0).lease_renew_interval == pytest.approx(4 / 3 - 0.025)


@pytest.mark.parametrize(("cls", "field", "value", "allowed"), OUT_OF_RANGE)
def test_a_value_out_of_range_is_refused_with_its_range(cls: type, field: str, value: Any, allowed: str) -> None:
    with pytest.raises(ValueError, match=named(cls, field, value)) as caught:
        cls(**{field: value})
    assert f"must be {allowed}, not" in str(caught.value)


def test_the_documented_example() -> None:
    with pytest.raises(ValueError, match=r"^ProducerConfig\.linger must be >= 0 seconds, not -1$"):
        ProducerConfig(linger=-1)


@pytest.mark.parametrize(("cls", "fields", "field", "limit"), CONTRADICTIONS)
def test_fields_that_contradict_each_other_are_refused(
    cls: type, fields: dict[str, Any], field: str, limit: str
) -> None:
    with pytest.raises(ValueError, match=rf"^{cls.__name__}\.{field} must be {re.escape(limit)}"):
        cls(**fields)


@pytest.mark.parametrize(("cls", "fields"), BOUNDARIES)
def test_values_on_the_edge_of_each_range_are_accepted(cls: type, fields: dict[str, Any]) -> None:
    config = cls(**fields)
    for field, value in fields.items():
        assert getattr(config, field) == value


@pytest.mark.parametrize("value", [NAN, INF, -INF])
@pytest.mark.parametrize(("cls", "field"), FLOAT_FIELDS)
def test_nan_and_infinity_are_refused(cls: type, field: str, value: float) -> None:
    """NaN compares false to every limit, so only an explicit check stops it."""
    with pytest.raises(ValueError, match=named(cls, field, value)):
        cls(**{field: value})


@pytest.mark.parametrize(
    ("cls", "field", "value"),
    [
        (cls, field, value)
        for cls, field in FLOAT_FIELDS
        for value in ("1", True, None, [1])
        if not (value is None and field == "checkpoint_interval")  # None is its "off"
    ],
)
def test_a_number_field_refuses_other_types(cls: type, field: str, value: Any) -> None:
    with pytest.raises(TypeError, match=rf"{named(cls, field, value)} \({type(value).__name__}\)"):
        cls(**{field: value})


@pytest.mark.parametrize("value", [1.0, "1", True, None])
@pytest.mark.parametrize(("cls", "field"), INT_FIELDS)
def test_an_int_field_refuses_other_types(cls: type, field: str, value: Any) -> None:
    with pytest.raises(TypeError, match=rf"^{cls.__name__}\.{field} must be an int, not {re.escape(repr(value))}"):
        cls(**{field: value})


@pytest.mark.parametrize("value", [1, 0, "yes", None])
@pytest.mark.parametrize(("cls", "field"), BOOL_FIELDS)
def test_a_flag_refuses_anything_but_a_bool(cls: type, field: str, value: Any) -> None:
    with pytest.raises(
        TypeError, match=rf"^{cls.__name__}\.{field} must be True or False, not {re.escape(repr(value))}"
    ):
        cls(**{field: value})


def test_when_full_refuses_a_non_string() -> None:
    with pytest.raises(TypeError, match=r"^ProducerConfig\.when_full must be 'wait' or 'raise', not 1 \(int\)"):
        ProducerConfig(when_full=1)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [1, None, b"/ca.pem"])
def test_verify_refuses_anything_but_a_flag_or_a_path(value: Any) -> None:
    with pytest.raises(
        TypeError, match=rf"^HttpConfig\.verify must be True, False or a CA bundle path, not {re.escape(repr(value))}"
    ):
        HttpConfig(verify=value)


def test_verify_refuses_an_empty_path() -> None:
    with pytest.raises(ValueError, match=r"^HttpConfig\.verify must be True, False or a CA bundle path, not ''$"):
        HttpConfig(verify="")


def test_the_consumer_s_reader_must_be_a_reader_config() -> None:
    with pytest.raises(TypeError, match=r"^ConsumerConfig\.reader must be a ReaderConfig, not \{'limit': 5\} \(dict\)"):
        ConsumerConfig(reader={"limit": 5})  # type: ignore[arg-type]


def test_the_consumer_s_fan_out_must_be_a_fan_out_config() -> None:
    with pytest.raises(TypeError, match=r"^ConsumerConfig\.fan_out must be a FanOutConfig, not 5 \(int\)"):
        ConsumerConfig(fan_out=5)  # type: ignore[arg-type]


def test_replace_checks_again() -> None:
    """Client.producer(linger=...) builds its config with dataclasses.replace."""
    with pytest.raises(ValueError, match=r"^ProducerConfig\.linger"):
        dataclasses.replace(ProducerConfig(), linger=-0.5)


def test_every_field_has_a_range_case() -> None:
    """A new field without a check fails here until it gets one (and a case above)."""
    covered = {(cls, field) for cls, field, _, _ in OUT_OF_RANGE}
    covered |= set(BOOL_FIELDS) | {
        (ProducerConfig, "when_full"),
        (ConsumerConfig, "reader"),
        (ConsumerConfig, "fan_out"),
        (HttpConfig, "verify"),
    }
    every = {(cls, f.name) for cls in CLASSES for f in dataclasses.fields(cls)}
    assert every - covered == set()


def test_the_two_reported_failure_modes_are_refused_at_construction() -> None:
    """Issue #9: max_buffered_records=0 made put() wait forever; list_shards_interval=0 made
    3,993 ListShards calls in one second."""
    with pytest.raises(ValueError, match=r"^ProducerConfig\.max_buffered_records must be >= 1, not 0$"):
        aiokinesis.ProducerConfig(max_buffered_records=0)
    with pytest.raises(ValueError, match=r"^ConsumerConfig\.list_shards_interval must be >= 0\.01 seconds, not 0$"):
        aiokinesis.ConsumerConfig(list_shards_interval=0)
