"""The process tests' log checks (process_logs.py) on logs written by hand: holdings of a shard are
ordered by the lease counter their "held" line shows, not by when that line was written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.leases.process_logs import assert_outcomes
from tests.leases.processes import LeaseFleet
from tests.processes import Worker

S = "shardId-000000000008"


def fleet_of(folder: Path, logs: dict[str, list[dict[str, Any]]]) -> LeaseFleet:
    fleet = LeaseFleet(folder=folder, endpoint="", dynamodb="", table="t", stream="s", failover=2.0)
    for name, events in logs.items():
        log = folder / f"{name}.jsonl"
        log.write_bytes(b"".join(orjson.dumps(event) + b"\n" for event in events))
        fleet.workers[name] = Worker(name, None, log, folder / f"{name}.stop")  # type: ignore[arg-type]  # no process
    return fleet


def held(t: float, counter: int) -> dict[str, Any]:
    return {"e": "lease", "t": t, "shard": S, "held": True, "counter": counter}


def handled(t: float) -> dict[str, Any]:
    return {"e": "handled", "t": t, "shard": S, "seq": "10", "key": "k", "n": 0}


def checkpoint(t: float) -> dict[str, Any]:
    return {"e": "checkpoint", "t": t, "shard": S, "seq": "10", "ok": True}


def test_a_take_logged_after_the_steal_that_followed_it_is_still_the_earlier_holding(tmp_path: Path) -> None:
    """w0 took the shard (counter 1) among twelve and logged it late; w1 stole it at once (counter 2),
    logged that first, and checkpointed what w0, not yet told, handled too: a repeat, not a fault."""
    fleet = fleet_of(
        tmp_path,
        {"w0": [held(1.0, 1), handled(1.2)], "w1": [held(0.9, 2), handled(0.95), checkpoint(0.96)]},
    )
    assert assert_outcomes(fleet, {("k", 0)}) == {"handled": 2, "repeats": 1, "gaps": 1, "overlapped": 1}


def test_a_record_the_earlier_holding_checkpointed_and_a_later_one_handled_again_fails(tmp_path: Path) -> None:
    fleet = fleet_of(
        tmp_path,
        {"w0": [held(1.0, 1), handled(1.1), checkpoint(1.15)], "w1": [held(0.9, 2), handled(1.3)]},
    )
    with pytest.raises(AssertionError, match=r"handled again though w0 checkpointed it"):
        assert_outcomes(fleet, {("k", 0)})
