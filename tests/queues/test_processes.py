"""Queue workers as separate processes sharing one queue, on a stream served by aiokinesis.testing
in its own process, while records flow in; one is killed (-9) with records handled and not
acknowledged.

Outcomes are read from the workers' logs (tests/queues/worker_process.py), all on one clock: the
machine's time.time(), which the server's first-receive times are on too. Wall-clock figures are
printed; the only timing asserted is a lower bound (nothing comes back before its visibility
timeout), which a busy machine can only make easier to meet.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

import aiokinesis
from tests.conftest import LOCAL_KEYS
from tests.processes import Fleet, Producer, Worker, kinesis_process, until

pytestmark = pytest.mark.integration
VISIBILITY = 10
"""The queue's visibility timeout, in seconds: a handler takes milliseconds, and a held message is
extended halfway through, so no visibility passes unless its worker dies."""
CONCURRENCY = 16
ROUNDING = 0.001
"""Seconds of slack for the first-receive time's trip through JSON and a datetime (microseconds)."""


@dataclass(kw_only=True)
class QueueFleet(Fleet):
    """Queue workers on one queue."""

    PROGRAM: ClassVar[str] = "tests.queues.worker_process"
    endpoint: str
    queue: str

    def start(self, name: str) -> Worker:
        return self.spawn(name, ["--endpoint", self.endpoint, "--queue", self.queue, "--concurrency", str(CONCURRENCY)])

    def acked(self) -> set[tuple[str, int]]:
        """The records some worker acknowledged (the service confirmed it)."""
        done: set[tuple[str, int]] = set()
        for worker in self.workers.values():
            events = worker.events()  # read once: a line written between two reads would be half seen
            values = {e["id"]: (e["key"], e["n"]) for e in events if e["e"] == "handled"}
            done.update(values[e["id"]] for e in events if e["e"] == "acked")
        return done


async def work_queue(kinesis: aiokinesis.Client) -> str:
    """An on-demand stream "work" (queues need one) and a queue on it from its first record; its ARN."""
    await kinesis.create_stream(
        stream_name="work", stream_mode_details=aiokinesis.StreamModeDetails(stream_mode="ON_DEMAND")
    )
    summary = await kinesis.wait.stream_exists(stream_name="work", delay=0.1, max_wait=30)
    created = await kinesis.create_queue(
        queue_name="work-queue",
        stream_configuration_list=[
            aiokinesis.QueueStreamConfiguration(
                stream_arn=summary.stream_arn,
                starting_position=aiokinesis.QueueStartingPosition(type="TRIM_HORIZON"),
            )
        ],
        queue_attributes=aiokinesis.QueueAttributes(visibility_timeout_seconds=VISIBILITY),
    )
    active = await kinesis.wait.queue_active(queue_arn=created.queue_description.queue_arn)
    return active.queue_arn


async def flowing(producer: Producer, stop: asyncio.Event, most: int = 30_000) -> None:
    """Fifty records about every 100 ms until `stop` is set (or `most` were sent)."""
    while not stop.is_set() and len(producer.sent) < most:
        await producer.put(50, per_call=50, pause=0.1)


def handled_since(worker: Worker, since: float) -> int:
    return sum(1 for event in worker.events("handled") if event["t"] > since)


async def test_three_workers_share_a_queue_and_a_killed_one_s_records_come_back_after_their_visibility_timeout(
    tmp_path: Path,
) -> None:
    with kinesis_process({}) as url:
        async with aiokinesis.Client(endpoint_url=url, **LOCAL_KEYS) as kinesis:
            crew = QueueFleet(folder=tmp_path, endpoint=url, queue=await work_queue(kinesis))
            producer = Producer(kinesis, "work", keys=60)
            flow: asyncio.Task[None] | None = None
            enough = asyncio.Event()
            try:
                async with asyncio.timeout(180):
                    for name in ("w0", "w1", "w2"):
                        crew.start(name)
                    await producer.put(300)
                    await until(lambda: producer.sent <= crew.acked(), within=60, what="the first records acknowledged")
                    began = time.time()
                    flow = asyncio.create_task(flowing(producer, enough))
                    # The victim is chosen once every worker is at work on the flow, not while one is starting.
                    await until(
                        lambda: all(handled_since(w, began) >= 20 for w in crew.workers.values()),
                        within=60,
                        what="every worker handling the flowing records",
                    )
                    victim = crew.workers["w1"]
                    touched = time.time()  # the logs' clock
                    victim.stop_file.touch()  # it stops itself holding records handled, not acknowledged
                    await until(victim.stopped, within=60, what="w1 stopped with records handled, not acknowledged")
                    victim.signal(signal.SIGKILL)
                    killed = time.time()
                    victim.process.wait(10)
                    held = set(victim.events("stopping")[0]["held"])
                    await until(
                        lambda: held <= {e["id"] for e in crew.handled() if e["w"] != victim.name},
                        within=60 + VISIBILITY,
                        what="the others handle what w1 held",
                    )
                    enough.set()  # records flowed in until then
                    await flow
                    await until(
                        lambda: producer.sent <= crew.acked(), within=60 + VISIBILITY, what="every record acknowledged"
                    )
            finally:
                if flow is not None and not flow.done():
                    flow.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await flow
                crew.close()
    survivors = [w for w in crew.workers.values() if w is not victim]
    for worker in survivors:  # a clean close, and nothing refused, lapsed or released on the way
        [closed] = worker.events("closed")
        assert (closed["failed"], closed["lapsed"], closed["released"]) == (0, 0, 0), closed
    assert victim.events("closed") == []

    handled = crew.handled()
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in handled:
        by_id[event["id"]].append(event)
    assert {(e["key"], e["n"]) for e in handled} == producer.sent  # every record handled, nothing else
    assert len(by_id) == len(producer.sent)

    assert len(victim.events("stopping")) == 1
    by_victim = {e["id"] for e in victim.events("handled")}
    acked_by_victim = {e["id"] for e in victim.events("acked")}
    assert held, "w1 stopped holding nothing"
    assert held == by_victim - acked_by_victim  # what it held at the kill: every record it did not acknowledge
    # Records the server delivered to w1 after its last look at its socket (it was stopped, or about to
    # be): delivered once before anyone logged them, so they come back with receive count 2 too.
    unseen = {i for i, events in by_id.items() if i not in by_victim and events[0]["count"] > 1}
    for record_id in unseen:
        first = by_id[record_id][0]["first"]
        assert touched <= first <= killed, f"{record_id}: first delivered at {first}, not to the stopped w1"

    lags = []
    for record_id, events in by_id.items():
        if record_id not in held | unseen:  # no worker died holding it: handled once, on its first delivery
            assert [e["count"] for e in events] == [1], events
            continue
        again = [e for e in events if e["w"] != victim.name]
        assert [e["count"] for e in again] == [2], f"{record_id} handled again {again}"  # once, by another
        [redelivered] = again
        first = events[0]["first"]
        assert redelivered["first"] == first  # the same record, its first receive kept
        visible = first + VISIBILITY
        assert redelivered["t"] >= visible - ROUNDING, f"{record_id} came back before its visibility timeout"
        lags.append(redelivered["t"] - visible)
    shares = {w.name: len(w.events("handled")) for w in crew.workers.values()}
    print(
        f"\nkill -9 w1 {killed - touched:.2f} s after its stop file: it held {len(held)} records handled and not "
        f"acknowledged, {len(unseen)} more delivered to it while stopped; all {len(lags)} handled again by the others "
        f"{min(lags):.3f}-{max(lags):.3f} s after their visibility timeout ({VISIBILITY} s) ran out; handled: {shares}"
    )
