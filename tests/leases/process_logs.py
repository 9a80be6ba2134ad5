"""What the worker processes' logs must show, whatever happened to the workers (test_processes.py)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from tests.leases.processes import LeaseFleet


@dataclass(frozen=True)
class Handled:
    t: float
    worker: str
    holding: int
    """Which of this worker's holdings of the shard (one up on each "held" line) it came in."""
    since: float
    """When that holding began (its "held" line)."""
    counter: int
    """The lease's counter on that "held" line: holdings of a shard in the order they began. Not
    `since`: a worker logs its line when it next looks, and a worker that takes twelve leases at
    once can log its take after another worker's steal of one of them (failed 1 run)."""
    shard: str
    seq: int
    key: str
    n: int


def handled(fleet: LeaseFleet) -> list[Handled]:
    """Every handled record of every worker, by time (a worker's own order kept on ties)."""
    found: list[Handled] = []
    for worker in fleet.workers.values():
        holdings: dict[str, int] = defaultdict(int)
        since: dict[str, tuple[float, int]] = {}
        for event in worker.events():
            if event["e"] == "lease" and event["held"]:
                holdings[event["shard"]] += 1
                since[event["shard"]] = (event["t"], event["counter"])
            elif event["e"] == "handled":
                shard = event["shard"]
                at, counter = since.get(shard, (0.0, -1))
                seq = int(event["seq"])
                found.append(
                    Handled(event["t"], worker.name, holdings[shard], at, counter, shard, seq, event["key"], event["n"])
                )
    return sorted(found, key=lambda h: h.t)


def checkpoints(fleet: LeaseFleet) -> dict[tuple[str, int, str], int]:
    """(worker, holding, shard) -> the sequence number of its last successful checkpoint."""
    last: dict[tuple[str, int, str], int] = {}
    for worker in fleet.workers.values():
        holdings: dict[str, int] = defaultdict(int)
        for event in worker.events():
            if event["e"] == "lease" and event["held"]:
                holdings[event["shard"]] += 1
            elif event["e"] == "checkpoint" and event["ok"] and event["seq"] is not None:
                last[(worker.name, holdings[event["shard"]], event["shard"])] = int(event["seq"])
    return last


def assert_outcomes(
    fleet: LeaseFleet, sent: set[tuple[str, int]], *, last_words: dict[tuple[str, str], int] | None = None
) -> dict[str, Any]:
    """Every record handled; each key in order; repeats only after an owner change and only of
    records no checkpoint covered; a shard's records handled by an old owner after a new one began
    are all handled again by the new one; and the repeats are exactly the checkpoint gaps: every
    record a holding handled past its last successful checkpoint, when a later holding of the shard
    began, is handled again there, and nothing else is. Returns counts for the test's own checks.

    `last_words`: (worker, shard) -> the checkpoint the table held when that worker was killed,
    for its last holding of the shard: a kill can land between a checkpoint's success and its log
    line, and the table is what its successor resumed from."""
    log = handled(fleet)
    values = {(h.key, h.n) for h in log}
    assert sent - values == set(), f"{len(sent - values)} records never handled"

    by_holding: dict[tuple[str, int, str], list[Handled]] = defaultdict(list)
    for h in log:
        by_holding[(h.worker, h.holding, h.shard)].append(h)
    for holding, records in by_holding.items():
        assert holding[1] >= 1, f"{holding}: records handled before the worker logged it held the shard"
        per_key: dict[str, list[int]] = defaultdict(list)
        for h in records:
            per_key[h.key].append(h.n)
        for key, ns in per_key.items():
            assert ns == sorted(set(ns)), f"{holding} {key}: went backwards or repeated within one holding: {ns}"

    first: dict[str, list[int]] = defaultdict(list)
    seen: dict[tuple[str, int], list[Handled]] = defaultdict(list)
    for h in log:
        if not seen[(h.key, h.n)]:
            first[h.key].append(h.n)
        seen[(h.key, h.n)].append(h)
    for key, ns in first.items():
        assert ns == sorted(ns), f"{key}: first handled out of order: {ns}"

    saved = checkpoints(fleet)
    for (worker, shard), checkpoint in (last_words or {}).items():
        last = max((h.holding for h in log if h.worker == worker and h.shard == shard), default=0)
        if last:
            saved[(worker, last, shard)] = max(saved.get((worker, last, shard), -1), checkpoint)
    repeats = 0
    for value, times in seen.items():
        # An old owner may still hand out a record after a new one began (a steal, found out at its
        # next renewal): whichever holding began first, its checkpoint must not have covered it.
        for earlier in sorted(times, key=lambda h: h.counter)[:-1]:
            repeats += 1
            covered = saved.get((earlier.worker, earlier.holding, earlier.shard), -1)
            assert earlier.seq > covered, f"{value} handled again though {earlier.worker} checkpointed it"
        holdings = {(h.worker, h.holding) for h in times}
        assert len(holdings) == len(times), f"{value} handled twice in one holding"

    gaps = 0
    for holding, records in by_holding.items():
        worker, _, shard = holding
        began = records[0].counter
        successors = [h for h in log if h.shard == shard and h.counter > began]
        if not successors:
            continue  # the shard's last holding: what it left unsaved is for whoever comes next
        covered = saved.get(holding, -1)
        for h in records:
            if h.seq <= covered:
                continue
            gaps += 1
            again = [o for o in successors if (o.key, o.n) == (h.key, h.n)]
            assert again, f"{h} was past {worker}'s last checkpoint of {shard} ({covered}) and never handled again"
    assert repeats == gaps, f"{repeats} records handled again, but the checkpoint gaps hold {gaps}"

    overlapped = 0
    for shard in {h.shard for h in log}:
        on_shard = [h for h in log if h.shard == shard]
        starts: dict[tuple[str, int], tuple[int, float]] = {}
        for h in on_shard:
            starts.setdefault((h.worker, h.holding), (h.counter, h.since))
        for h in on_shard:
            later = [s for (w, _), (c, s) in starts.items() if w != h.worker and h.counter < c and s < h.t]
            if later:  # an old owner still at work after a new one began: a later holding has it too
                overlapped += 1
                # Not always the new owner's: paused before it read that far, it can lose the shard
                # back to the old owner, whose next holding handles it again (failed 1 busy run).
                again = [
                    o
                    for o in seen[(h.key, h.n)]
                    if o.t >= min(later) and (o.worker, o.holding) != (h.worker, h.holding)
                ]
                assert again, f"{h} handled by an old owner only, after {shard} moved on"
    return {"handled": len(log), "repeats": repeats, "gaps": gaps, "overlapped": overlapped}
