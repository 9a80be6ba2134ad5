#!/usr/bin/env bash
# The benchmark command: set up bench/.venv (aiokinesis + the peers), then run every comparison.
# Arguments go to bench/run.py (--quick for a smoke run, --repetitions N).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x bench/.venv/bin/python ] || "$python" -m venv bench/.venv
bench/.venv/bin/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt -e '.[http2]'
exec bench/.venv/bin/python bench/run.py "$@"
