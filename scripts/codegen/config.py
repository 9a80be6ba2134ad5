"""What each service generates: which operations, and what is written by hand around the model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "aiokinesis" / "_generated"


@dataclass(frozen=True, kw_only=True)
class ServiceConfig:
    """One service's generated package."""

    service: str
    """botocore's name of the service model."""
    title: str
    """As docstrings name it."""
    out: Path
    """The package the modules are written to."""
    root: str
    """The relative import of the aiokinesis package from the generated modules: ".." or "..."."""
    error_base: str
    """The class (in aiokinesis.errors) every modeled error subclasses."""
    error_table: str
    """The ErrorTable (in aiokinesis.errors) the modeled errors register with."""
    operations_doc: str
    """The docstring of the generated Operations class."""
    documents: tuple[str, ...] = ("service-2",)
    """botocore's documents of the service the generated code (or what is written by hand beside it) follows:
    the hash in the generated headers covers them, and --check diffs them."""
    operations: tuple[str, ...] | None = None
    """The operations to generate, in the model's order; None: all of them."""
    wire_shapes: frozenset[str] = frozenset()
    """Structures kept in their JSON wire form (dicts, checked but not converted): DynamoDB's
    AttributeValue, a recursive tagged union the callers build and read as {"S": "text"}."""
    extra_members: Mapping[str, str] = field(default_factory=dict)
    """Hand-written members of generated classes."""
    sequence_members: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """List members typed `Sequence[...]`, by structure: results the client hands back as a sequence
    that decodes each item when it is read (aiokinesis/_put_records.py), not as a list."""
    extra_limits: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """Limits the API reference states and the model omits, by shape."""
    rules: Mapping[str, str] = field(default_factory=dict)
    """Cross-member rules (aiokinesis/_rules.py) a structure's serializer ends with."""
    stream_rule: str | None = None
    """The rule every input that takes a StreamName and a StreamARN, neither required, gets."""
    hash_key_shape: str | None = None
    """The shape of 128-bit hash keys, checked against 2**128 - 1."""
    utf16_shapes: frozenset[str] = frozenset()
    """String shapes whose maximum length the service counts in UTF-16 code units (Java's)."""
    request_shapes: bool = False
    """Also write the shapes requests reach, with their constraints, as data (shapes.REQUEST_SHAPES):
    aiokinesis.testing checks requests against the model the client was made from, not against the
    installed botocore's (older at the declared floor: 1 MiB records, no MaxRecordSizeInKiB)."""

    exported: frozenset[str] = frozenset()
    """Generated names that hand-written modules import, written without their leading underscore
    so that importing them reaches into no module's privates: codecs (`ser_<Shape>`, `de_<Shape>`)
    and operation specs (`<Operation>`)."""

    @property
    def uses_rules(self) -> bool:
        return bool(self.rules or self.stream_rule or self.hash_key_shape or self.utf16_shapes)

    def name(self, private: str) -> str:
        """A generated name (`_ser_<Shape>`, `_de_<Shape>`, `_<Operation>`) as it is written: public if exported."""
        return private[1:] if private[1:] in self.exported else private


KINESIS_EXTRA_MEMBERS = {
    "StartingPosition": '''
    @classmethod
    def trim_horizon(cls) -> StartingPosition:
        """The oldest record still in the shard."""
        return cls(type=ShardIteratorType.TRIM_HORIZON)

    @classmethod
    def latest(cls) -> StartingPosition:
        """Just after the newest record: only records put from now on."""
        return cls(type=ShardIteratorType.LATEST)

    @classmethod
    def at_timestamp(cls, timestamp: datetime) -> StartingPosition:
        """The first record that arrived at or after timestamp (timezone-aware)."""
        return cls(type=ShardIteratorType.AT_TIMESTAMP, timestamp=timestamp)

    @classmethod
    def at_sequence_number(cls, sequence_number: str) -> StartingPosition:
        """The record with this sequence number, or the next one after it."""
        return cls(type=ShardIteratorType.AT_SEQUENCE_NUMBER, sequence_number=sequence_number)

    @classmethod
    def after_sequence_number(cls, sequence_number: str) -> StartingPosition:
        """The record right after this sequence number (where a checkpoint resumes)."""
        return cls(type=ShardIteratorType.AFTER_SEQUENCE_NUMBER, sequence_number=sequence_number)
''',
}

KINESIS = ServiceConfig(
    service="kinesis",
    title="Kinesis",
    out=OUT,
    root="..",
    error_base="ServiceError",
    error_table="KINESIS_ERRORS",
    operations_doc="The Kinesis API, one coroutine per operation; Client supplies the session.",
    request_shapes=True,
    # waiters.py and paginators.py follow the waiters and paginators; the endpoint rules are read at
    # runtime from the installed botocore, hashed here so a change is reported.
    documents=("service-2", "paginators-1", "waiters-2", "endpoint-rule-set-1"),
    extra_members=KINESIS_EXTRA_MEMBERS,
    sequence_members={"PutRecordsOutput": frozenset({"Records"})},
    # The model leaves RetentionPeriodHours open; IncreaseStreamRetentionPeriod's maximum is
    # 8760 hours, DecreaseStreamRetentionPeriod's minimum 24.
    extra_limits={"RetentionPeriodHours": {"min": 24, "max": 8760}},
    # Called at the end of a structure's serializer with its members' locals. ListShards's own
    # rule knows NextToken, so it does not get the stream rule.
    rules={
        "ListShardsInput": (
            "_rules.list_shards(x_next_token, x_stream_name, x_stream_arn, x_exclusive_start_shard_id, "
            "x_stream_creation_timestamp)"
        ),
        "UpdateMaxRecordSizeInput": "_rules.stream_arn(x_stream_arn)",
        "DescribeStreamConsumerInput": "_rules.consumer(x_consumer_arn, x_stream_arn, x_consumer_name)",
        "DeregisterStreamConsumerInput": "_rules.consumer(x_consumer_arn, x_stream_arn, x_consumer_name)",
        "GetShardIteratorInput": (
            "_rules.iterator_start('shard_iterator_type', x_shard_iterator_type, 'starting_sequence_number', "
            "x_starting_sequence_number, x_timestamp)"
        ),
        "StartingPosition": "_rules.iterator_start('type', x_type, 'sequence_number', x_sequence_number, x_timestamp)",
        "QueueStartingPosition": "_rules.queue_start(x_type, x_timestamp)",
        "ShardFilter": "_rules.shard_filter(x_type, x_shard_id, x_timestamp)",
        "PutRecordInput": "_rules.record_size(x_data, x_partition_key)",
        "PutRecordsInput": "_rules.records_size(x_records)",
    },
    stream_rule="_rules.stream(x_stream_name, x_stream_arn)",
    # The pattern allows 39 digits; only a 39-digit one can pass 2**128 - 1, so only it is converted.
    hash_key_shape="HashKey",
    # A partition key of 129 emoji is 258 code units: a PutRecords holding it is refused whole.
    utf16_shapes=frozenset({"PartitionKey"}),
    exported=frozenset(
        {
            "PutRecords",  # the client's and the producer's PutRecords (_put_records.py)
            "ser_PutRecordsInput",
            "de_PutRecordsOutput",
            "de_PutRecordsResultEntry",
            "GetRecords",  # the shard reader's
            "de_ChildShard",  # the reader's and the enhanced fan-out source's ChildShards
            "SubscribeToShard",  # subscriptions.py's
            "ser_SubscribeToShardInput",
            "de_SubscribeToShardEvent",
        }
    ),
)

DYNAMODB = ServiceConfig(
    service="dynamodb",
    title="DynamoDB",
    out=OUT / "dynamodb",
    root="...",
    error_base="DynamoDBError",
    error_table="DYNAMODB_ERRORS",
    operations_doc=(
        "The DynamoDB operations lease tables need, one coroutine each; the DynamoDB client supplies the session."
    ),
    operations=(
        "CreateTable",
        "DescribeTable",
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Scan",
        "TransactWriteItems",
    ),
    wire_shapes=frozenset({"AttributeValue"}),
)

SERVICES = (KINESIS, DYNAMODB)
