"""The DynamoDB client that lease tables are kept with: lifecycle, the generated operations, two helpers.

Internal. A Kinesis client makes it (`Client._dynamodb(...)`) through `Session.sibling`, so both
share one credential chain, one region and one runtime, and closing the Kinesis client closes it.
Items, keys and expression values are DynamoDB's wire form, `{"leaseKey": {"S": "shardId-0"}}`,
checked against the model before anything is sent (see `AttributeValue`); the rest is typed.

A failed condition is an answer, not a fault: `ConditionalCheckFailedException` is never retried,
and with `return_values_on_condition_check_failure="ALL_OLD"` its `item` is the item as it stood.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

from ._diagnose import ShapeTables
from ._generated.dynamodb import shapes as _shapes
from ._generated.dynamodb.errors import ResourceNotFoundException
from ._generated.dynamodb.models import AttributeValue, ScanOutput, TableDescription, TableStatus
from ._generated.dynamodb.operations import Operations
from ._protocol import JSON_1_0
from ._runtime import Runtime
from ._service import Service
from ._session import Session
from .errors import DYNAMODB_ERRORS, ProtocolError, WaiterError

DYNAMODB = Service(
    name="DynamoDB",
    signing_name="dynamodb",
    content_type=JSON_1_0,
    target_prefix="DynamoDB_20120810",
    endpoint_rules="dynamodb",
    # Account-based hosts ({account}.ddb.{region}.amazonaws.com) need the account id, which static
    # keys do not carry: the regional host serves every account, as botocore's "disabled" mode does.
    endpoint_params={"AccountIdEndpointMode": "disabled"},
    errors=DYNAMODB_ERRORS,
    shapes=ShapeTables(_shapes.FIELD_NAMES, _shapes.INPUTS, _shapes.OUTPUTS, _shapes.STRUCTURES),
    crc32_header="x-amz-crc32",
)

Item = dict[str, AttributeValue]
"""An item, a key or a page's start key in the wire form: attribute name -> {"S": "..."}."""


class DynamoDB(Operations):
    """DynamoDB's CreateTable, DescribeTable, GetItem, PutItem, UpdateItem, DeleteItem, Scan and
    TransactWriteItems, one coroutine each; `async with` or `aclose()`, never reopened."""

    def __init__(self, session: Session, runtime: Runtime) -> None:
        if session.service is not DYNAMODB:
            raise ValueError(f"a DynamoDB client needs a DynamoDB session, not a {session.service.name} one")
        self._session = session
        self._runtime = runtime

    def __repr__(self) -> str:
        state = "closed" if self._session.closed else "open"
        return f"<aiokinesis DynamoDB region={self._session.region!r} {state}>"

    @property
    def closed(self) -> bool:
        return self._session.closed

    async def open(self) -> None:
        """Resolve the region and credentials' chain now rather than on the first call."""
        await self._session.open()

    async def aclose(self) -> None:
        """Close the connection pool (if this client made it); idempotent."""
        await self._session.close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def wait_table_active(
        self, table_name: str, *, delay: float = 1.0, max_wait: float = 300.0
    ) -> TableDescription:
        """Poll DescribeTable until the table is ACTIVE and return its description.

        A table not found yet is waited for (CreateTable's answer can come before DescribeTable
        sees it); WaiterError once `max_wait` seconds pass on the client's clock."""
        clock, sleep = self._runtime.clock, self._runtime.sleep
        deadline = clock() + max_wait
        while True:
            try:
                table = (await self.describe_table(table_name=table_name)).table
            except ResourceNotFoundException:
                table = None
            if table is not None and table.table_status == TableStatus.ACTIVE:
                return table
            if clock() + delay > deadline:
                status = table.table_status if table is not None else "not found"
                raise WaiterError(f"gave up waiting for table {table_name} to be ACTIVE after {max_wait:g} s: {status}")
            await sleep(delay)

    async def scan_pages(
        self,
        table_name: str,
        *,
        limit: int | None = None,
        consistent_read: bool | None = None,
        filter_expression: str | None = None,
        projection_expression: str | None = None,
        expression_attribute_names: dict[str, str] | None = None,
        expression_attribute_values: Item | None = None,
    ) -> AsyncIterator[ScanOutput]:
        """Every page of a Scan, each asked for from the last page's LastEvaluatedKey.

        `limit` is per page (items evaluated, before the filter). A server that hands back the
        key it was given would loop forever: that is a ProtocolError. Owns no task: stop anywhere."""
        start: Item | None = None
        while True:
            page = await self.scan(
                table_name=table_name,
                limit=limit,
                consistent_read=consistent_read,
                filter_expression=filter_expression,
                projection_expression=projection_expression,
                expression_attribute_names=expression_attribute_names,
                expression_attribute_values=expression_attribute_values,
                exclusive_start_key=start,
            )
            yield page
            last = page.last_evaluated_key
            if not last:
                return
            if last == start:
                raise ProtocolError(f"Scan of {table_name}: LastEvaluatedKey repeats the start key {last!r}")
            start = last
