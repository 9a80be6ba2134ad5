"""ls, describe, create, delete, --help and the errors, each run as the real command."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import pytest

import aiokinesis
from aiokinesis.cli import INSTALL
from aiokinesis.cli._parser import build
from tests.cli.conftest import BOUND, cli_env, run_cli, started

COMMANDS = ["ls", "describe", "create", "delete", "put", "tail", "leases", "lag", "testing-server"]


async def test_the_top_level_help_names_every_command_and_the_exit_codes() -> None:
    run = await run_cli("--help")
    assert run.code == 0, run.stderr
    for name in COMMANDS:
        assert f"    {name}" in run.stdout
    assert "130 interrupted" in run.stdout
    assert "aiokinesis testing-server --port 4568" in run.stdout


@pytest.mark.parametrize("name", [c for c in COMMANDS if c != "testing-server"])
def test_every_command_takes_the_connection_and_output_options(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build().parse_args([name, "--help"])
    text = capsys.readouterr().out
    for option in ("--endpoint-url", "--region", "--profile", "--output {text,json}"):
        assert option in text


async def test_create_ls_describe_delete_in_text_and_json(endpoint: list[str]) -> None:
    created = await run_cli("create", "clicks", "--shards", "3", *endpoint, "--output", "json")
    assert created.code == 0, created.stderr
    summary = json.loads(created.stdout)["stream"]
    assert (summary["name"], summary["status"], summary["open_shards"]) == ("clicks", "ACTIVE", 3)

    listed = await run_cli("ls", *endpoint)
    assert listed.code == 0, listed.stderr
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[1:]}
    assert rows["clicks"][:4] == ["clicks", "ACTIVE", "PROVISIONED", "3"]
    assert rows["orders"][3] == "2"
    assert listed.stdout.split()[:6] == ["stream", "status", "mode", "open", "shards", "retention"]

    as_json = json.loads((await run_cli("ls", *endpoint, "--output", "json")).stdout)
    by_name = {s["name"]: s for s in as_json["streams"]}
    assert sorted(by_name) == ["clicks", "one", "orders"]
    assert list(by_name["orders"]) == [
        "name", "arn", "status", "mode", "open_shards", "retention_hours", "consumers", "encryption", "created",
    ]  # fmt: skip
    assert by_name["orders"]["retention_hours"] == 24

    described = json.loads((await run_cli("describe", "clicks", *endpoint, "--output", "json")).stdout)
    assert list(described) == ["stream", "shards", "consumers"]
    assert [s["shard_id"] for s in described["shards"]] == [f"shardId-00000000000{i}" for i in range(3)]
    assert all(s["open"] and s["parents"] == [] for s in described["shards"])
    assert described["shards"][0]["hash_range"]["start"] == "0"
    assert described["shards"][-1]["hash_range"]["end"] == str(2**128 - 1)

    deleted = await run_cli("delete", "clicks", *endpoint)
    assert (deleted.code, deleted.stdout) == (0, "deleted clicks\n")
    gone = await run_cli("describe", "clicks", *endpoint)
    assert gone.code == 1
    assert gone.stdout == ""
    assert gone.stderr.startswith("aiokinesis describe: ResourceNotFoundException: ")
    assert len(gone.stderr.splitlines()) == 1


async def test_describe_draws_the_shard_tree_after_a_split_and_a_merge(
    kinesis: aiokinesis.Client, endpoint: list[str]
) -> None:
    await kinesis.split_shard(
        stream_name="orders", shard_to_split="shardId-000000000000", new_starting_hash_key=str(2**126)
    )
    await kinesis.wait.stream_exists(stream_name="orders", delay=0.05)
    await kinesis.merge_shards(
        stream_name="orders", shard_to_merge="shardId-000000000003", adjacent_shard_to_merge="shardId-000000000001"
    )
    await kinesis.wait.stream_exists(stream_name="orders", delay=0.05)
    await kinesis.register_stream_consumer(
        stream_arn=(await kinesis.describe_stream_summary(stream_name="orders")).stream_description_summary.stream_arn,
        consumer_name="billing",
    )
    run = await run_cli("describe", "orders", *endpoint)
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert any(line.split() == ["shards", "2", "open,", "3", "closed"] for line in lines)
    tree = lines[lines.index("shards of orders") + 1 :]
    assert tree[0].startswith("├── shardId-000000000000  closed  keys 0.0%-50.0%")
    assert tree[1].startswith("│   ├── shardId-000000000002  open  keys 0.0%-25.0%")
    assert tree[2].startswith("│   └── shardId-000000000003  closed  keys 25.0%-50.0%")
    assert "shardId-000000000004  open  keys 25.0%-100.0%" in tree[3]
    assert "(merged from shardId-000000000003 + shardId-000000000001)" in tree[3]
    assert tree[4].startswith("└── shardId-000000000001  closed  keys 50.0%-100.0%")
    assert "shardId-000000000004  (see under shardId-000000000003)" in tree[5]
    assert any(
        line.split()[:2] == ["billing", "ACTIVE"] or line.split()[:2] == ["billing", "CREATING"] for line in lines
    )


async def test_create_on_demand_and_usage_errors(endpoint: list[str]) -> None:
    created = await run_cli("create", "od", "--on-demand", *endpoint)
    assert (created.code, created.stdout) == (0, "created od: ACTIVE, ON_DEMAND, 4 open shards\n"), created.stderr
    neither = await run_cli("create", "x", *endpoint)
    assert neither.code == 2
    assert "one of the arguments --shards --on-demand is required" in neither.stderr
    sequence = await run_cli("tail", "od", "--from", "4959", *endpoint)
    assert sequence.code == 2
    assert "--from SEQUENCE_NUMBER needs --shard" in sequence.stderr


async def test_an_unreachable_endpoint_and_missing_credentials_are_one_line_each(endpoint: list[str]) -> None:
    unreachable = await run_cli("ls", "--endpoint-url", "http://127.0.0.1:9")
    assert unreachable.code == 1
    assert unreachable.stderr.startswith("aiokinesis ls: cannot reach the service: ")
    assert len(unreachable.stderr.splitlines()) == 1
    env = cli_env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None)
    anonymous = await run_cli("ls", *endpoint, env=env)
    assert anonymous.code == 1
    assert len(anonymous.stderr.splitlines()) == 1
    assert "AWS_ACCESS_KEY_ID" in anonymous.stderr
    assert "Traceback" not in unreachable.stderr + anonymous.stderr


async def test_without_rich_the_command_says_how_to_install_it(endpoint: list[str]) -> None:
    code = "import sys; sys.modules['rich'] = None; from aiokinesis.cli import main; main(sys.argv[1:])"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, "ls", *endpoint, stderr=asyncio.subprocess.PIPE, env=cli_env()
    )
    _, err = await process.communicate()
    assert process.returncode == 1
    assert err.decode() == f"aiokinesis: the command line needs the rich library: {INSTALL}\n"
    assert INSTALL == "pip install 'aiokinesis-sdk[cli]'"


async def test_ctrl_c_interrupts_a_command_waiting_for_an_answer() -> None:
    connected = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def never_answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        connected.set()

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    try:
        async with started("ls", "--endpoint-url", f"http://127.0.0.1:{port}") as process, asyncio.timeout(BOUND):
            await connected.wait()
            process.send_signal(signal.SIGINT)
            _, err = await process.communicate()
    finally:
        for writer in held:
            writer.close()
        silent.close()
        await silent.wait_closed()
    assert process.returncode == 130
    assert err.decode() == "aiokinesis ls: interrupted\n"
