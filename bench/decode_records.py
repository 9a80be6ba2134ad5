"""CPU per record of decoding GetRecords answers into ShardRecords, beside a floor that makes tuples.

    bench/.venvs/aiokinesis/bin/python bench/decode_records.py       # this work tree
    bench/.venvs/before/bin/python bench/decode_records.py           # another one, to compare

Answers of 1000 records of 100 bytes, already parsed (orjson), as the reader gets them: every
record with its own arrival time (bench/stub_server.py's), and in runs of 500 sharing one (the
records of one PutRecords mostly arrive together). The floor makes `(data, datetime, sequence,
key)` tuples with stdlib base64 and `datetime.fromtimestamp`, and checks nothing. Best of 9.
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


def answers(run: int) -> list[list[dict[str, Any]]]:
    answer = stub_server.bodies(1000, 4)["GetRecords"]
    assert isinstance(answer, dict)
    for i, record in enumerate(answer["Records"]):
        record["ApproximateArrivalTimestamp"] = 1_700_000_000.123 + (i // run) / 1000
    return [orjson.loads(orjson.dumps(answer))["Records"] for _ in range(10)]


def main() -> None:
    for label, run in (("each record its own arrival time", 1), ("runs of 500 sharing one", 500)):
        docs = answers(run)
        for name, decode in (("aiokinesis decode_records", decode_records), ("floor (tuples)", floor)):
            best = float("inf")
            for _ in range(9):
                cpu = time.process_time()
                for doc in docs:
                    decode(doc, "shardId-000000000000", None)
                best = min(best, (time.process_time() - cpu) / (len(docs) * 1000))
            print(f"{label}: {name}: {best * 1e6:.3f} µs a record")


if __name__ == "__main__":
    main()
