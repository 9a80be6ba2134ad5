"""The command line's grammar: every subcommand, its options and its help, with argparse alone.

Kept apart from the commands so `aiokinesis --help` works (and is quick) without the optional
terminal library, and the commands import only what they run.
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime

from .. import __version__

DESCRIPTION = """\
Amazon Kinesis Data Streams from the shell: list, describe, create and delete streams, put
lines into a stream, print its records, and read a consumer's lease table."""

EPILOG = """\
Every command but testing-server takes --endpoint-url, --region, --profile and --output
text|json. Credentials come from the usual AWS chain (environment, profile, SSO, instance role).
Exit codes: 0 done, 1 failed (a record not put, a missing stream, no connection), 2 usage
error, 130 interrupted (Ctrl-C).

against a local Kinesis:
  aiokinesis testing-server --port 4568 --stream orders:2 &
  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1
  aiokinesis ls --endpoint-url http://127.0.0.1:4568
  seq 100 | aiokinesis put orders --endpoint-url http://127.0.0.1:4568
  aiokinesis tail orders --endpoint-url http://127.0.0.1:4568

Run "aiokinesis COMMAND --help" for a command's options."""

POSITIONS = "latest, trim-horizon, an ISO 8601 timestamp (UTC unless it says) or a sequence number (with --shard)"


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs keep their line breaks (examples stay examples), and the list of
    commands goes without argparse's line naming their metavar."""

    def _format_action(self, action: argparse.Action) -> str:
        text = super()._format_action(action)
        if action.nargs == argparse.PARSER:
            return text.partition("\n")[2]
        return text


def _endpoint(service: str) -> str | None:
    """botocore's variables: the service's own endpoint, else the one for every service."""
    return os.environ.get(f"AWS_ENDPOINT_URL_{service}") or os.environ.get("AWS_ENDPOINT_URL")


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection and output")
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        default=_endpoint("KINESIS"),
        help="Kinesis at this URL (a local server); default: AWS's for the region ($AWS_ENDPOINT_URL_KINESIS)",
    )
    group.add_argument("--region", metavar="REGION", help="AWS region; default: $AWS_DEFAULT_REGION or the profile's")
    group.add_argument("--profile", metavar="NAME", help="profile of ~/.aws/config for credentials and region")
    group.add_argument(
        "--output",
        choices=("text", "json"),
        default="text",
        help="text for people (tables, trees), json for programs (one document; JSON lines for tail)",
    )
    return common


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return int(text)


def position(text: str) -> tuple[str, str | datetime | None]:
    """--from: ("latest"|"trim-horizon", None), ("sequence", digits) or ("timestamp", aware datetime)."""
    lowered = text.lower().replace("_", "-")
    if lowered in ("latest", "trim-horizon"):
        return lowered, None
    if text.isascii() and text.isdigit():
        return "sequence", text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {POSITIONS}; not {text!r}") from None
    return "timestamp", moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _dynamodb(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dynamodb-endpoint-url",
        metavar="URL",
        default=_endpoint("DYNAMODB"),
        help="DynamoDB at this URL (DynamoDB Local); default: AWS's ($AWS_ENDPOINT_URL_DYNAMODB)",
    )


def build() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiokinesis", description=DESCRIPTION, epilog=EPILOG, formatter_class=Formatter
    )
    parser.add_argument("--version", action="version", version=f"aiokinesis {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands", required=True)
    common = [_common()]

    def command(name: str, summary: str, description: str = "") -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=summary,
            description=f"{summary[0].upper()}{summary[1:]}.{chr(10) * 2 if description else ''}{description}",
            parents=common,
            formatter_class=Formatter,
        )

    command("ls", "list the streams: status, mode, open shards, retention, consumers")

    describe = command(
        "describe",
        "a stream's summary, its shard tree and its consumers",
        "The tree shows each shard under its parents (a merged shard under both), its hash key\n"
        "range (as a share of the key space) and whether it is open.",
    )
    describe.add_argument("stream", metavar="STREAM")

    create = command("create", "create a stream and wait until it is ACTIVE")
    create.add_argument("stream", metavar="STREAM")
    mode = create.add_mutually_exclusive_group(required=True)
    mode.add_argument("--shards", type=_count, metavar="N", help="provisioned, with N shards")
    mode.add_argument("--on-demand", action="store_true", help="on-demand capacity mode")
    create.add_argument("--no-wait", action="store_true", help="return once created, before it is ACTIVE")

    delete = command("delete", "delete a stream and wait until it is gone")
    delete.add_argument("stream", metavar="STREAM")
    delete.add_argument("--force", action="store_true", help="delete its enhanced fan-out consumers too")
    delete.add_argument("--no-wait", action="store_true", help="return once deletion has started")

    put = command(
        "put",
        "put lines from stdin (or --file) into a stream, through the batching, retrying producer",
        "Each non-empty line is one record (its line break removed). On a terminal a progress bar\n"
        "shows records, records/s, MiB/s and retries; a summary follows. Each record that could not\n"
        "be put is reported with its line number, and the exit code is then 1. Ctrl-C stops\n"
        "reading, sends what was read, and reports what was and was not sent (exit code 130).",
    )
    put.add_argument("stream", metavar="STREAM")
    put.add_argument("--file", metavar="PATH", help="read this file instead of stdin")
    keys = put.add_mutually_exclusive_group()
    keys.add_argument(
        "--key-field",
        metavar="FIELD",
        help="lines are JSON objects; the partition key is this field's value (a line without it fails)",
    )
    keys.add_argument(
        "--partition-key",
        metavar="KEY",
        help="one partition key for every record (one shard, in order); default: a random key per record",
    )
    put.add_argument("--aggregate", action="store_true", help="pack records into KPL aggregates")
    put.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")

    tail = command(
        "tail",
        "print a stream's records, from every shard (or one), through the consumer",
        "Without --follow, prints what the stream holds from --from (default trim-horizon) and exits\n"
        "once every shard is caught up; with it, keeps following (from latest by default) until\n"
        "Ctrl-C. KPL aggregates come out as their user records. Text output prints each record's\n"
        "data on its own line; --output json prints one JSON object per record.",
    )
    tail.add_argument("stream", metavar="STREAM")
    tail.add_argument("-f", "--follow", action="store_true", help="keep following new records until Ctrl-C")
    tail.add_argument("--from", dest="start", type=position, metavar="POSITION", help=f"where to start: {POSITIONS}")
    source = tail.add_mutually_exclusive_group()
    source.add_argument("--shard", metavar="SHARD_ID", help="read this shard only (not its children)")
    source.add_argument(
        "--enhanced-fan-out",
        metavar="NAME",
        help="read every shard through the enhanced fan-out consumer NAME (SubscribeToShard; "
        "registered if missing and left registered) instead of GetRecords",
    )
    tail.add_argument(
        "--decode",
        choices=("text", "json", "hex"),
        default="text",
        help="show data as UTF-8 text, pretty JSON, or hex (default: text)",
    )
    tail.add_argument("--meta", action="store_true", help="text output: a line of shard, sequence and key before each")
    tail.add_argument("-n", "--max-records", type=_count, metavar="N", help="stop after N records")

    leases = command("leases", "a consumer's lease table: shard, owner, counter, checkpoint, owner switches, parents")
    leases.add_argument("table", metavar="TABLE")
    _dynamodb(leases)

    lag = command(
        "lag",
        "how far a lease table's checkpoints are behind the tip of each shard",
        "For each lease, one GetRecords (of one record) just after its checkpoint gives the\n"
        "shard's MillisBehindLatest: the time, not the number of records, between the checkpoint\n"
        "and the tip, as the KCL reports it. Kinesis has no cheap count of records behind.",
    )
    lag.add_argument("stream", metavar="STREAM")
    lag.add_argument("--leases", required=True, metavar="TABLE", help="the consumer's lease table")
    _dynamodb(lag)

    commands.add_parser(
        "testing-server",
        help="a local Kinesis for tests: the same as python -m aiokinesis.testing",
        add_help=False,
        description="Run python -m aiokinesis.testing with these arguments (--help for its own).",
    ).add_argument("arguments", nargs=argparse.REMAINDER)
    return parser
