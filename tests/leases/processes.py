"""The lease workers of tests/leases/test_processes.py as processes (tests/leases/worker_process.py)
on one stream and one lease table, and that table as a KCL worker would read it (botocore, not our
code). What every process test shares (the server process, logs, the producer) is tests/processes.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import botocore.session

from tests.conftest import LOCAL_KEYS
from tests.processes import Fleet, Worker


@dataclass(kw_only=True)
class LeaseFleet(Fleet):
    """Lease workers on one stream and one lease table."""

    PROGRAM: ClassVar[str] = "tests.leases.worker_process"
    endpoint: str
    dynamodb: str
    table: str
    stream: str
    failover: float
    _reader: Any = None

    def start(self, name: str) -> Worker:
        args = ["--endpoint", self.endpoint, "--dynamodb", self.dynamodb, "--table", self.table]
        args += ["--stream", self.stream, "--worker-id", name, "--failover", str(self.failover)]
        return self.spawn(name, args)

    def close(self) -> None:
        super().close()
        if self._reader is not None:
            self._reader.close()

    def values(self) -> set[tuple[str, int]]:
        return {(event["key"], event["n"]) for event in self.handled()}

    def leases(self) -> dict[str, dict[str, Any]]:
        """The lease table, read with botocore as any KCL worker would: leaseKey -> its attributes."""
        if self._reader is None:
            self._reader = botocore.session.get_session().create_client(
                "dynamodb",
                endpoint_url=self.dynamodb,
                region_name=LOCAL_KEYS["region"],
                aws_access_key_id=LOCAL_KEYS["aws_access_key_id"],
                aws_secret_access_key=LOCAL_KEYS["aws_secret_access_key"],
            )
        client = self._reader
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        for _ in range(100):
            try:
                page = client.scan(**kwargs)
            except client.exceptions.ResourceNotFoundException:
                return {}  # the first worker has not made the table yet
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return {item["leaseKey"]["S"]: {name: next(iter(v.values())) for name, v in item.items()} for item in items}

    def owners(self) -> dict[str, str | None]:
        return {key: lease.get("leaseOwner") for key, lease in self.leases().items()}
