"""DynamoDBLeases: the lease table in DynamoDB, item for item as the KCL 2.x lays it out.

Every fenced write is one UpdateItem conditioned on the counter the caller last saw (and, for
the owner's own writes, on the owner), so a worker that lost a lease can never write to it. A
write whose answer was lost and then retried meets its own earlier success as a failed
condition: the item DynamoDB returns with the failure (ALL_OLD) shows it, and the write counts
as done, as the KCL's renewer does with a re-read (checkpoints likewise). Attributes other writers keep (the KCL's
pending checkpoints, `throughputKBps`...) are never touched: nothing but create writes a whole item.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._endpoints import endpoint_for_url
from .._generated.dynamodb.errors import (
    ConditionalCheckFailedException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from .._generated.dynamodb.models import (
    AttributeDefinition,
    BillingMode,
    KeySchemaElement,
    KeyType,
    ReturnValue,
    ReturnValuesOnConditionCheckFailure,
    ScalarAttributeType,
)
from ..errors import ClientError, ProtocolError
from ._lease import SHARD_END, Lease
from ._store import Lost

if TYPE_CHECKING:
    from .._dynamodb import DynamoDB, Item
    from .._generated.dynamodb.models import TableDescription

log = logging.getLogger("aiokinesis.leases")
_TABLE_NAME = re.compile(r"[a-zA-Z0-9_.-]{3,255}")
_ALL_NEW = ReturnValue.ALL_NEW
_ALL_OLD = ReturnValuesOnConditionCheckFailure.ALL_OLD
_OWNED = "leaseCounter = :n AND leaseOwner = :owner"


class DynamoDBLeases:
    """A LeaseStore in a DynamoDB table: `kinesis.consumer("orders", leases=DynamoDBLeases("billing-orders"))`.

    The table is created on first use (on-demand billing, hash key `leaseKey`) unless
    `create_table=False`, and waited for until ACTIVE. Credentials are the Kinesis client's, and
    so is the region unless `region` names another; `endpoint_url` points at another DynamoDB
    (DynamoDB Local in tests).
    """

    def __init__(
        self, table: str, *, region: str | None = None, endpoint_url: str | None = None, create_table: bool = True
    ) -> None:
        if not isinstance(table, str) or _TABLE_NAME.fullmatch(table) is None:
            raise ValueError(f"DynamoDBLeases.table must be 3 to 255 of a-z, A-Z, 0-9, '_', '-', '.', not {table!r}")
        if region is not None and (not isinstance(region, str) or not region):
            raise ValueError(f"DynamoDBLeases.region must be a region name such as 'eu-west-1', not {region!r}")
        if endpoint_url is not None and not _is_endpoint(endpoint_url):
            raise ValueError(
                f"DynamoDBLeases.endpoint_url must be an http(s) URL with a host and no path, not {endpoint_url!r}"
            )
        self.table = table
        self.region = region
        self.endpoint_url = endpoint_url
        self.create_table = create_table
        self._db: DynamoDB | None = None

    def __repr__(self) -> str:
        return f"<DynamoDBLeases table={self.table!r}>"

    def attach(self, dynamodb: DynamoDB) -> None:
        """Use this DynamoDB client (the consumer's Kinesis client makes it, with its credentials)."""
        self._db = dynamodb

    def bound(self, dynamodb: DynamoDB) -> DynamoDBLeases:
        """The same table through `dynamodb` alone, for one consumer: one DynamoDBLeases given to
        consumers of several clients must not move them all to the last client, whose close would
        then fail every other one's renewals."""
        table = DynamoDBLeases(
            self.table, region=self.region, endpoint_url=self.endpoint_url, create_table=self.create_table
        )
        table.attach(dynamodb)
        return table

    @property
    def _client(self) -> DynamoDB:
        if self._db is None:
            raise ClientError(f"{self!r} has no DynamoDB client: give it to kinesis.consumer(..., leases=...)")
        return self._db

    async def prepare(self) -> None:
        """Make sure the table exists and is ACTIVE, creating it if allowed; idempotent across workers."""
        db = self._client
        try:
            await db.describe_table(table_name=self.table)
        except ResourceNotFoundException:
            if not self.create_table:
                raise ClientError(f"the lease table {self.table} does not exist (create_table=False)") from None
            try:
                await db.create_table(
                    table_name=self.table,
                    attribute_definitions=[
                        AttributeDefinition(attribute_name="leaseKey", attribute_type=ScalarAttributeType.S)
                    ],
                    key_schema=[KeySchemaElement(attribute_name="leaseKey", key_type=KeyType.HASH)],
                    billing_mode=BillingMode.PAY_PER_REQUEST,
                )
                log.info("created lease table %s (on-demand)", self.table)
            except ResourceInUseException:
                pass  # another worker created it first
        _check_layout(await db.wait_table_active(self.table))

    # -- reads ---------------------------------------------------------------------------------

    async def list_leases(self) -> list[Lease]:
        leases = []
        async for page in self._client.scan_pages(self.table, consistent_read=True):
            for item in page.items or ():
                lease = _from_item(item)
                if lease is not None:
                    leases.append(lease)
        return leases

    async def get(self, key: str) -> Lease | None:
        out = await self._client.get_item(table_name=self.table, key=_key(key), consistent_read=True)
        return None if out.item is None else _from_item(out.item)

    # -- writes --------------------------------------------------------------------------------

    async def create(self, lease: Lease) -> bool:
        try:
            await self._client.put_item(
                table_name=self.table, item=_to_item(lease), condition_expression="attribute_not_exists(leaseKey)"
            )
        except ConditionalCheckFailedException:
            return False
        return True

    async def renew(self, lease: Lease) -> Lease | Lost:
        return await self._fenced(
            lease,
            "SET leaseCounter = :next",
            _OWNED,
            {":owner": _s(lease.owner)},
            lambda done: done.owner == lease.owner,
        )

    async def take(self, lease: Lease, owner: str) -> Lease | Lost:
        return await self._fenced(
            lease,
            "SET leaseOwner = :owner, leaseCounter = :next,"
            " ownerSwitchesSinceCheckpoint = if_not_exists(ownerSwitchesSinceCheckpoint, :zero) + :one",
            "leaseCounter = :n",
            {":owner": _s(owner), ":zero": _n(0), ":one": _n(1)},
            None,
        )

    async def release(self, lease: Lease) -> Lease | Lost:
        return await self._fenced(
            lease,
            "REMOVE leaseOwner SET leaseCounter = :next",
            _OWNED,
            {":owner": _s(lease.owner)},
            None,
        )

    async def checkpoint(self, lease: Lease, checkpoint: str, sub_sequence_number: int) -> Lease | Lost:
        return await self._fenced(
            lease,
            "SET checkpoint = :cp, checkpointSubSequenceNumber = :sub,"
            " ownerSwitchesSinceCheckpoint = :zero, leaseCounter = :next",
            _OWNED,
            {":owner": _s(lease.owner), ":cp": _s(checkpoint), ":sub": _n(sub_sequence_number), ":zero": _n(0)},
            lambda done: (
                done.owner == lease.owner
                and done.checkpoint == checkpoint
                and done.sub_sequence_number == sub_sequence_number
            ),
        )

    async def set_children(self, key: str, children: tuple[str, ...]) -> bool:
        update = "SET childShardIds = :children" if children else "REMOVE childShardIds"
        values = {":children": {"SS": sorted(children)}} if children else None
        try:
            await self._client.update_item(
                table_name=self.table,
                key=_key(key),
                update_expression=update,
                condition_expression="attribute_exists(leaseKey)",
                expression_attribute_values=values,
            )
        except ConditionalCheckFailedException:
            return False
        return True

    async def delete(self, key: str) -> bool:
        try:
            await self._client.delete_item(
                table_name=self.table,
                key=_key(key),
                condition_expression="checkpoint = :end",
                expression_attribute_values={":end": _s(SHARD_END)},
            )
        except ConditionalCheckFailedException:
            return False
        return True

    async def _fenced(
        self,
        lease: Lease,
        update: str,
        condition: str,
        values: Item,
        landed: Callable[[Lease], bool] | None,
    ) -> Lease | Lost:
        """One conditional UpdateItem moving the counter from `lease.counter` to the next.

        On a failed condition the item as it stood comes back with the failure. For the owner's
        renewals and checkpoints (`landed` given), when the session had sent the write before: if
        the item shows this very write done at counter n+1, that earlier attempt succeeded and only
        its answer was lost (a timeout the session retried), so it counts as done, as the KCL's
        renewer decides. Never on a first attempt: a lease another process took under the same
        worker id (a restart with a fixed `worker_id`) shows the same owner at n+1, and a paused
        worker must not take it for its own. A take or release that meets a failed condition is
        lost, whatever the item shows."""
        if condition == _OWNED and lease.owner is None:
            return Lost(lease.key)  # a free lease has no owner to write for
        try:
            out = await self._client.update_item(
                table_name=self.table,
                key=_key(lease.key),
                update_expression=update,
                condition_expression=condition,
                expression_attribute_values={**values, ":n": _n(lease.counter), ":next": _n(lease.counter + 1)},
                return_values=_ALL_NEW,
                return_values_on_condition_check_failure=_ALL_OLD,
            )
        except ConditionalCheckFailedException as failed:
            stood = None if failed.item is None else _from_item(failed.item)
            retried = failed.attempts > 1
            if (
                retried
                and landed is not None
                and stood is not None
                and stood.counter == lease.counter + 1
                and landed(stood)
            ):
                log.debug("lease %s: a retried write found its own earlier success", lease.key)
                return stood
            return Lost(lease.key)
        if out.attributes is None:
            raise ProtocolError(f"UpdateItem of lease {lease.key} answered without the item (ALL_NEW)")
        written = _from_item(out.attributes)
        if written is None:
            raise ProtocolError(f"UpdateItem of lease {lease.key} answered an item that is no lease")
        return written


# -- the KCL's item layout -----------------------------------------------------------------------


def _is_endpoint(url: object) -> bool:
    """Whether the DynamoDB session would take `url`: checked here, before anything goes on the wire."""
    if not isinstance(url, str):
        return False
    try:
        endpoint_for_url(url, "")
    except (ClientError, ValueError):  # ValueError: urlsplit's, on a bad IPv6 host or port
        return False
    return True


def _check_layout(table: TableDescription) -> None:
    """A table keyed otherwise is some other table: refused before a lease is written to it."""
    keys = [(k.attribute_name, k.key_type) for k in table.key_schema or ()]
    types = {a.attribute_name: a.attribute_type for a in table.attribute_definitions or ()}
    if keys != [("leaseKey", KeyType.HASH)] or types.get("leaseKey") != ScalarAttributeType.S:
        key = ", ".join(f"{name} ({types.get(name, '?')}, {kind})" for name, kind in keys)
        raise ClientError(
            f"the table {table.table_name} is not a lease table: its key is {key}; a lease table's is leaseKey "
            "(S, HASH) alone"
        )


def _s(value: str | None) -> dict[str, str]:
    return {"S": "" if value is None else value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _key(key: str) -> Item:
    return {"leaseKey": {"S": key}}


def _to_item(lease: Lease) -> Item:
    """A lease as the KCL writes it: no leaseOwner when free, no empty string sets."""
    item: Item = {
        "leaseKey": _s(lease.key),
        "leaseCounter": _n(lease.counter),
        "checkpoint": _s(lease.checkpoint),
        "checkpointSubSequenceNumber": _n(lease.sub_sequence_number),
        "ownerSwitchesSinceCheckpoint": _n(lease.owner_switches),
    }
    if lease.owner is not None:
        item["leaseOwner"] = _s(lease.owner)
    if lease.parents:
        item["parentShardId"] = {"SS": list(lease.parents)}
    if lease.children:
        item["childShardIds"] = {"SS": list(lease.children)}
    if lease.hash_range is not None:
        item["startingHashKey"] = _s(str(lease.hash_range[0]))
        item["endingHashKey"] = _s(str(lease.hash_range[1]))
    return item


def _from_item(item: Item) -> Lease | None:
    """The lease an item holds; None for rows that are not leases (KCL 3.x keeps others beside them).

    A row whose `entityType` is present and not LEASE, or that lacks a lease's attributes, is
    skipped with a debug line, never taken, renewed or deleted."""
    entity = _str(item.get("entityType"))
    key = _str(item.get("leaseKey"))
    if (entity is not None and entity != "LEASE") or key is None or "leaseCounter" not in item:
        log.debug("lease table row %r is not a lease: skipped", key)
        return None
    try:
        start, end = _str(item.get("startingHashKey")), _str(item.get("endingHashKey"))
        return Lease(
            key=key,
            owner=_str(item.get("leaseOwner")) or None,
            counter=_int(item["leaseCounter"]),
            checkpoint=_str(item.get("checkpoint")) or "TRIM_HORIZON",
            sub_sequence_number=_int(item.get("checkpointSubSequenceNumber")),
            owner_switches=_int(item.get("ownerSwitchesSinceCheckpoint")),
            parents=tuple(_strings(item.get("parentShardId"))),
            children=tuple(_strings(item.get("childShardIds"))),
            hash_range=None if start is None or end is None else (int(start), int(end)),
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise ProtocolError(f"lease table row {key!r} does not fit the KCL's layout: {exc}") from exc


def _str(value: Any) -> str | None:
    return value.get("S") if isinstance(value, dict) else None


def _int(value: Any) -> int:
    if value is None:
        return 0
    return int(value["N"])


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if "SS" in value:
        return list(value["SS"])
    if "L" in value:  # some writers keep string lists, not sets
        return [entry["S"] for entry in value["L"]]
    raise TypeError(f"expected a string set, not {value!r}")
