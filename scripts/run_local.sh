#!/usr/bin/env bash
# The main job on a fresh machine, no AWS account: set up, start kinesis-mock on
# 127.0.0.1, run examples/put_and_read.py against it, stop the server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m tests.kinesis_local.launch -- .venv/bin/python examples/put_and_read.py --delete "$@"
