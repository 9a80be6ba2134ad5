"""Valid sample values for any shape of the model, as our kwargs and as botocore params.

Both sides come from one walk of the model, so a serialization test can compare our
request body with botocore's serializer for every operation.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from botocore import xform_name
from botocore.model import ServiceModel, Shape

import aiokinesis._generated.models as models

SAMPLE_TIME = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)  # whole seconds: botocore rounds to ms
# Values for strings whose model pattern a repeated letter would not match.
PATTERNED = {
    "StreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/orders",
    "ConsumerARN": "arn:aws:kinesis:us-east-1:123456789012:stream/orders/consumer/app:1700000000",
    "ResourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/orders",
    "ChannelARN": "arn:aws:kinesis:us-east-1:123456789012:channel/ch1",
    "QueueARN": "arn:aws:kinesis:us-east-1:123456789012:queue/q1",
    "BucketARN": "arn:aws:s3:::my-bucket",
    "TableBucketARN": "arn:aws:s3tables:us-east-1:123456789012:bucket/tables",
    "RoleARN": "arn:aws:iam::123456789012:role/writer",
    "GSRSchemaARN": "arn:aws:glue:us-east-1:123456789012:schema/registry/schema",
    "StreamId": "abcdefghij0123456789-abc",
    "HashKey": "170141183460469231731687303715884105728",
    "SequenceNumber": "49590338271490256608559692538361571095921575989136588898",
    "ExpectedBucketOwner": "123456789012",
    "RecordId": "abc123",
}

# Values the API's cross-member rules (aiokinesis/_rules.py) need where the first or smallest would not do.
RULED = {
    "QueueStartingPositionType": "AT_TIMESTAMP",  # the only type a Timestamp may go with
    "RetentionPeriodHours": 48,  # 24..8760 hours, by the API reference
}
# Members an operation refuses together with others: left out of its sample.
EXCLUDED = {"ListShards": {"NextToken"}}  # it excludes StreamName, ExclusiveStartShardId...


def sample(shape: Shape) -> tuple[Any, Any]:
    """(our Python value, botocore's parameter value) for a valid instance of shape."""
    kind = shape.type_name
    if kind == "structure":
        ours: dict[str, Any] = {}
        theirs: dict[str, Any] = {}
        for name, member in shape.members.items():
            ours[xform_name(name)], theirs[name] = sample(member)
        return getattr(models, shape.name)(**ours), theirs
    if kind == "list":
        item = sample(shape.member)
        count = max(1, shape.metadata.get("min", 1))
        return [item[0]] * count, [item[1]] * count
    if kind == "map":
        key, value = sample(shape.key), sample(shape.value)
        return {key[0]: value[0]}, {key[1]: value[1]}
    if shape.name in RULED:
        return RULED[shape.name], RULED[shape.name]
    if kind == "string":
        if shape.enum:
            return shape.enum[0], shape.enum[0]
        text = PATTERNED.get(shape.name, "s" * max(1, shape.metadata.get("min", 1)))
        return text, text
    if kind == "blob":
        return b"\x00\xffdata", b"\x00\xffdata"
    if kind == "timestamp":
        return SAMPLE_TIME, SAMPLE_TIME
    if kind == "boolean":
        return True, True
    if kind in ("integer", "long"):
        number = max(1, shape.metadata.get("min", 1))
        return number, number
    raise AssertionError(f"no sample for {shape.name} ({kind})")


def operation_sample(service: ServiceModel, operation: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every member of the operation's input: (our kwargs, botocore params)."""
    shape = service.operation_model(operation).input_shape
    if shape is None:
        return {}, {}
    ours: dict[str, Any] = {}
    theirs: dict[str, Any] = {}
    for name, member in shape.members.items():
        if name not in EXCLUDED.get(operation, ()):
            ours[xform_name(name)], theirs[name] = sample(member)
    return ours, theirs


def to_wire(shape: Shape, value: Any) -> Any:
    """botocore-side sample value as the JSON a server would send."""
    kind = shape.type_name
    if kind == "structure":
        return {name: to_wire(shape.members[name], item) for name, item in value.items()}
    if kind == "list":
        return [to_wire(shape.member, item) for item in value]
    if kind == "map":
        return {key: to_wire(shape.value, item) for key, item in value.items()}
    if kind == "blob":
        return base64.b64encode(value).decode()
    if kind == "timestamp":
        return value.timestamp()
    return value
