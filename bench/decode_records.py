"""CPU per record of decoding GetRecords answers into ShardRecords, beside a floor that makes tuples.

    bench/.venvs/aiokinesis/bin/python bench/decode_records.py       # this work tree
    bench/.venvs/before/bin/python bench/decode_records.py           # another one, to compare

Answers of 1000 records of 100 bytes, already parsed (orjson), as the reader gets them: every
record with its own arrival time (bench/stub_server.py's), and in runs of 500 sharing one (the
records of one PutRecords mostly arrive together). The floor makes `(data, datetime, sequence,
key)` tuples with stdlib base64 and `datetime.fromtimestamp`, and checks nothing. Best of 9. A
ShardRecord's arrival time is made on first read: "read every arrival" adds that read per record.
"""

from __future__ import annotations

import sys
import time
from binascii import a2b_base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import stub_server

from aiokinesis._shardrecords import decode_records


def floor(wires: list[dict[str, Any]], shard_id: str, hash_range: None) -> list[tuple[Any, ...]]:
    stamp = datetime.fromtimestamp
    return [
        (a2b_base64(w["Data"]), stamp(w["ApproximateArrivalTimestamp"], UTC), w["SequenceNumber"], w["PartitionKey"])
        for w in wires
    ]


def read_every_arrival(wires: list[dict[str, Any]], shard_id: str, hash_range: None) -> list[Any]:
    return [r.approximate_arrival_timestamp for r in decode_records(wires, shard_id, hash_range).records]


def answer(run: int) -> bytes:
    body = stub_server.bodies(1000, 4)["GetRecords"]
    assert isinstance(body, dict)
    for i, record in enumerate(body["Records"]):
        record["ApproximateArrivalTimestamp"] = 1_700_000_000.123 + (i // run) / 1000
    return orjson.dumps(body)


def main() -> None:
    for label, run in (("each record its own arrival time", 1), ("runs of 500 sharing one", 500)):
        raw = answer(run)
        decoders = (
            ("aiokinesis decode_records", decode_records),
            ("aiokinesis decode_records, then read every arrival", read_every_arrival),
            ("floor (tuples)", floor),
        )
        for name, decode in decoders:
            best = float("inf")
            for _ in range(9):
                docs = [orjson.loads(raw)["Records"] for _ in range(10)]  # fresh: decode_records takes its answer
                cpu = time.process_time()
                for doc in docs:
                    decode(doc, "shardId-000000000000", None)
                best = min(best, (time.process_time() - cpu) / (len(docs) * 1000))
            print(f"{label}: {name}: {best * 1e6:.3f} µs a record")


if __name__ == "__main__":
    main()
