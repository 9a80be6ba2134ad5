"""Metrics for dashboards: pass a sink as `aiokinesis.Client(metrics=...)`.

`OpenTelemetryMetrics` (extra `otel`: opentelemetry-api) and `PrometheusMetrics` (extra
`prometheus`: prometheus-client) map the SDK's hooks to instruments; each library is imported only
when its adapter is first named. Or implement `MetricsSink` yourself (subclass `NoMetrics` to
write only the hooks you want). Every hook is told of a batch, never of one record.

Attributes (labels): `operation` (the API operation), `stream`, `shard`, `error_code`. Shard ids
are bounded by the stream's shards (and their history of splits and merges within retention), so
their series stay few; no attribute carries a partition key, a sequence number or a worker id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._metrics import MetricsSink, NoMetrics

if TYPE_CHECKING:
    from ._opentelemetry import OpenTelemetryMetrics
    from ._prometheus import PrometheusMetrics

__all__ = ["MetricsSink", "NoMetrics", "OpenTelemetryMetrics", "PrometheusMetrics"]

_EXTRA = {"OpenTelemetryMetrics": ("opentelemetry", "otel"), "PrometheusMetrics": ("prometheus_client", "prometheus")}


def __getattr__(name: str) -> Any:
    """The adapters, imported on first use: their libraries are optional extras."""
    if name not in _EXTRA:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    library, extra = _EXTRA[name]
    try:
        if name == "OpenTelemetryMetrics":
            from ._opentelemetry import OpenTelemetryMetrics  # noqa: PLC0415

            return OpenTelemetryMetrics
        from ._prometheus import PrometheusMetrics  # noqa: PLC0415

        return PrometheusMetrics
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != library:
            raise
        raise ImportError(
            f"aiokinesis.metrics.{name} needs {library}: pip install 'aiokinesis-sdk[{extra}]'", name=exc.name
        ) from exc
