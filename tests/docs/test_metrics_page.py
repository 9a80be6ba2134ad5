"""docs/metrics.md's table names every metric each adapter reports, and nothing else: a metric added,
renamed or dropped in one adapter and not the other (or not on the page) fails here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

from opentelemetry import metrics
from prometheus_client import CollectorRegistry

from aiokinesis.metrics import OpenTelemetryMetrics, PrometheusMetrics

PAGE = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def table() -> list[tuple[str, str]]:
    """(OpenTelemetry name, Prometheus name) of each row under "What is reported", one name a cell."""
    section = PAGE.read_text().split("## What is reported", 1)[1].split("\n\n", 2)[1]
    rows = [line.split(" | ") for line in section.splitlines()[2:]]
    return [(one_name(cells[1]), one_name(cells[2])) for cells in rows]


def one_name(cell: str) -> str:
    found = re.fullmatch(r"`([a-z_.]+)`", cell)
    assert found is not None, f"not one metric name: {cell!r}"
    return found.group(1)


class RecordingMeter:
    """A no-op meter that keeps the name of every instrument created on it."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._meter = metrics.NoOpMeter("test")

    def __getattr__(self, attribute: str) -> Any:
        create = getattr(self._meter, attribute)

        def created(name: str, *args: Any, **kwargs: Any) -> Any:
            self.names.append(name)
            return create(name, *args, **kwargs)

        return created


def test_the_table_names_each_opentelemetry_instrument_once() -> None:
    meter = RecordingMeter()
    OpenTelemetryMetrics(cast(metrics.Meter, meter))
    assert sorted(meter.names) == sorted(otel for otel, _ in table())


def test_the_table_names_each_prometheus_collector_once() -> None:
    registry = CollectorRegistry()
    PrometheusMetrics(registry)
    exposed = [family.name + ("_total" if family.type == "counter" else "") for family in registry.collect()]
    assert sorted(exposed) == sorted(prometheus for _, prometheus in table())
