"""Every generated DynamoDB operation against botocore itself: same request body, same parsed response;
and the wire-form AttributeValues checked against the model before anything is sent."""

from __future__ import annotations

import base64
import dataclasses
import inspect
import json
import keyword
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aioresponses import CallbackResult, aioresponses
from botocore import xform_name
from botocore.model import Shape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

import aiokinesis
import aiokinesis._generated.dynamodb.models as models
from aiokinesis._dynamodb import DynamoDB
from tests.fakes import FakeTime
from tests.models import service_model

from .conftest import ANY_URL, make_client
from .samples import to_wire

SERVICE = service_model("dynamodb")
OPERATIONS = [
    "CreateTable",
    "DescribeTable",
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Scan",
    "TransactWriteItems",
]
BLOB = b"\x00\xffdata"
# One AttributeValue with every tag, nested: as we send it (blobs as base64) and as botocore takes it.
OURS_VALUE: dict[str, Any] = {
    "M": {
        "s": {"S": "text"},
        "n": {"N": "-1.5E3"},
        "b": {"B": base64.b64encode(BLOB).decode()},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2"]},
        "bs": {"BS": [base64.b64encode(BLOB).decode()]},
        "l": {"L": [{"BOOL": False}, {"NULL": True}, {"M": {}}]},
    }
}
THEIRS_VALUE: dict[str, Any] = {
    "M": {**OURS_VALUE["M"], "b": {"B": BLOB}, "bs": {"BS": [BLOB]}},
}


def field(member: str) -> str:
    name = xform_name(member)
    return f"{name}_" if keyword.iskeyword(name) else name


def sample(shape: Shape) -> tuple[Any, Any]:
    """(our Python value, botocore's parameter value) for a valid instance of shape."""
    kind = shape.type_name
    if shape.name == "AttributeValue":
        return OURS_VALUE, THEIRS_VALUE
    if kind == "structure":
        ours: dict[str, Any] = {}
        theirs: dict[str, Any] = {}
        for name, member in shape.members.items():
            ours[field(name)], theirs[name] = sample(member)
        return getattr(models, shape.name)(**ours), theirs
    if kind == "list":
        item = sample(shape.member)
        count = max(1, shape.metadata.get("min", 1))
        return [item[0]] * count, [item[1]] * count
    if kind == "map":
        key, value = sample(shape.key), sample(shape.value)
        return {key[0]: value[0]}, {key[1]: value[1]}
    if kind == "string":
        if shape.enum:
            return shape.enum[0], shape.enum[0]
        text = "s" * max(3, shape.metadata.get("min", 1))
        return text, text
    if kind == "blob":
        return BLOB, BLOB
    if kind == "timestamp":
        from tests.unit.samples import SAMPLE_TIME

        return SAMPLE_TIME, SAMPLE_TIME
    if kind == "boolean":
        return True, True
    if kind in ("integer", "long"):
        number = max(1, shape.metadata.get("min", 1))
        return number, number
    if kind == "double":
        return 1.5, 1.5
    raise AssertionError(f"no sample for {shape.name} ({kind})")


def as_ours(shape: Shape, value: Any) -> Any:
    """botocore's parsed answer as our result reads (AttributeValues stay in their wire form)."""
    kind = shape.type_name
    if shape.name == "AttributeValue":
        return to_wire(shape, value)
    if kind == "structure":
        return {
            field(name): as_ours(shape.members[name], item) for name, item in value.items() if name in shape.members
        }
    if kind == "list":
        return [as_ours(shape.member, item) for item in value]
    if kind == "map":
        return {key: as_ours(shape.value, item) for key, item in value.items()}
    return value


def without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_none(v) for v in value]
    return value


@pytest.fixture
async def dynamo(fake_time: FakeTime, http: aioresponses) -> AsyncIterator[DynamoDB]:
    async with make_client(fake_time) as kinesis:
        yield kinesis._dynamodb()


def test_the_client_has_exactly_the_operations_lease_tables_need() -> None:
    generated = {name for name, value in inspect.getmembers(DynamoDB) if inspect.iscoroutinefunction(value)}
    assert {xform_name(op) for op in OPERATIONS} <= generated
    assert generated - {xform_name(op) for op in OPERATIONS} == {
        "open",
        "aclose",
        "__aenter__",
        "__aexit__",
        "wait_table_active",
    }
    for op in OPERATIONS:
        params = inspect.signature(getattr(DynamoDB, xform_name(op))).parameters
        members = SERVICE.operation_model(op).input_shape.members
        assert set(params) - {"self"} == {field(m) for m in members}, op
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for n, p in params.items() if n != "self"), op


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_request_and_response_match_botocore(operation: str, dynamo: DynamoDB, http: aioresponses) -> None:
    op_model = SERVICE.operation_model(operation)
    ours: dict[str, Any] = {}
    theirs: dict[str, Any] = {}
    for name, member in op_model.input_shape.members.items():
        ours[field(name)], theirs[name] = sample(member)
    expected_request = create_serializer("json").serialize_to_request(theirs, op_model)
    _, wire_params = sample(op_model.output_shape)
    response_body = orjson.dumps(to_wire(op_model.output_shape, wire_params))
    seen: list[dict[str, Any]] = []

    def reply(url: Any, **kwargs: Any) -> CallbackResult:
        seen.append(kwargs)
        return CallbackResult(status=200, body=response_body)

    http.post(ANY_URL, callback=reply)
    result = await getattr(dynamo, xform_name(operation))(**ours)

    [request] = seen
    assert request["headers"]["X-Amz-Target"] == expected_request["headers"]["X-Amz-Target"]
    assert request["headers"]["Content-Type"] == expected_request["headers"]["Content-Type"]
    assert json.loads(request["data"]) == json.loads(expected_request["body"])
    parsed = create_parser("json").parse(
        {"status_code": 200, "headers": {}, "body": response_body}, op_model.output_shape
    )
    parsed.pop("ResponseMetadata", None)
    assert without_none(dataclasses.asdict(result)) == as_ours(op_model.output_shape, parsed)


async def test_a_transaction_without_a_token_gets_one_and_retries_repeat_it(
    dynamo: DynamoDB, http: aioresponses, fake_time: FakeTime
) -> None:
    bodies: list[dict[str, Any]] = []

    def reply(url: Any, **kwargs: Any) -> CallbackResult:
        bodies.append(orjson.loads(kwargs["data"]))
        if len(bodies) == 1:
            return CallbackResult(status=500, body=b'{"__type": "InternalServerError"}')
        return CallbackResult(body=b"{}")

    http.post(ANY_URL, callback=reply, repeat=True)
    put = models.TransactWriteItem(put=models.Put(table_name="leases", item={"leaseKey": {"S": "k"}}))
    await dynamo.transact_write_items(transact_items=[put])
    await dynamo.transact_write_items(transact_items=[put])
    tokens = [body["ClientRequestToken"] for body in bodies]
    assert tokens[0] == tokens[1]  # the retry is the same request
    assert tokens[2] != tokens[0]  # another call, another token
    assert len(tokens[0]) == 36


@pytest.mark.parametrize(
    ("item", "field_path", "problem"),
    [
        ({"k": "text"}, "item['k']", "must be a dict, not str"),
        ({"k": {}}, "item['k']", "must have one member of S, N, B"),
        (
            {"k": {"S": "a", "N": "1"}},
            "item['k']",
            "exactly one member of S, N, B, SS, NS, BS, M, L, NULL, BOOL, not 2 (S, N)",
        ),
        ({"k": {"X": "a"}}, "item['k']", "has the member 'X'; it must be one of S, N"),
        ({"k": {"N": 1}}, "item['k'].N", "must be a string, not int"),
        ({"k": {"B": b"raw"}}, "item['k'].B", "must be base64 text, not bytes"),
        ({"k": {"SS": ["a", 2]}}, "item['k'].SS[1]", "must be a string, not int"),
        ({"k": {"M": {"in": {"L": [{"BOOL": "yes"}]}}}}, "item['k'].M['in'].L[0].BOOL", "must be a bool, not str"),
        ({"k": {"L": [{"S": "a"}, {}]}}, "item['k'].L[1]", "must have one member"),
        ({1: {"S": "a"}}, "item[1]", "must be a string, not int"),
    ],
)
async def test_attribute_values_are_checked_before_anything_is_sent(
    item: dict[Any, Any], field_path: str, problem: str, dynamo: DynamoDB, http: aioresponses
) -> None:
    with pytest.raises(aiokinesis.ParamValidationError) as caught:
        await dynamo.put_item(table_name="leases", item=item)
    assert caught.value.field == field_path
    assert problem in caught.value.problem
    assert http.requests == {}


@pytest.mark.parametrize(
    ("call", "field_path", "problem"),
    [
        ({"table_name": ""}, "table_name", "has 0 characters, below the minimum of 1"),  # a name or an ARN
        ({"table_name": "leases", "limit": 0}, "limit", "is 0, below the minimum of 1"),
        ({"table_name": "leases", "segment": 1, "total_segments": 1_000_001}, "total_segments", "above the maximum"),
        ({"table_name": "leases", "index_name": "bad name!"}, "index_name", "does not match the pattern"),
        ({"table_name": "leases", "exclusive_start_key": {"k": {"S": 1}}}, "exclusive_start_key['k'].S", "a string"),
    ],
)
async def test_model_limits_are_checked_before_anything_is_sent(
    call: dict[str, Any], field_path: str, problem: str, dynamo: DynamoDB, http: aioresponses
) -> None:
    with pytest.raises(aiokinesis.ParamValidationError) as caught:
        await dynamo.scan(**call)
    assert caught.value.field == field_path
    assert problem in caught.value.problem
    assert http.requests == {}


async def test_an_unencodable_attribute_is_named_by_its_path(dynamo: DynamoDB, http: aioresponses) -> None:
    """A lone surrogate passes the type checks; the JSON encoder refuses it, and the model names where."""
    with pytest.raises(aiokinesis.ParamValidationError) as caught:
        await dynamo.put_item(table_name="leases", item={"owner": {"S": "w\ud800"}})
    assert caught.value.field == "item['owner']['S']"
    assert "lone surrogate" in caught.value.problem
    assert http.requests == {}


async def test_a_misfit_answer_is_named_from_dynamodbs_model(dynamo: DynamoDB, http: aioresponses) -> None:
    http.post(ANY_URL, body=b'{"Table": {"CreationDateTime": "yesterday"}}')
    with pytest.raises(aiokinesis.ProtocolError) as caught:
        await dynamo.describe_table(table_name="leases")
    assert caught.value.member == "Table.CreationDateTime"


async def test_unknown_members_and_enum_values_are_tolerated(dynamo: DynamoDB, http: aioresponses) -> None:
    http.post(ANY_URL, body=b'{"Table": {"TableStatus": "HIBERNATING", "Shiny": {"New": 1}}, "Extra": []}')
    out = await dynamo.describe_table(table_name="leases")
    assert out.table is not None
    assert out.table.table_status == "HIBERNATING"
    http.post(ANY_URL, body=b'{"Table": {"TableStatus": "ACTIVE"}}')
    out = await dynamo.describe_table(table_name="leases")
    assert out.table is not None
    assert out.table.table_status is models.TableStatus.ACTIVE
