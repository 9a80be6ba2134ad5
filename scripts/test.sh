#!/usr/bin/env bash
# The test command (README, CI): set up, then lint, types, generated code, and every test.
# Extra arguments go to pytest, e.g. scripts/test.sh tests/unit -k signing
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m ruff check .
.venv/bin/python -m ruff format --check .
.venv/bin/python -m mypy
.venv/bin/python scripts/generate.py --check
.venv/bin/python -m pytest "$@"
