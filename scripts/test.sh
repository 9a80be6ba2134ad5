#!/usr/bin/env bash
# The test command (README, CI). On the checkout: lint, types, generated code, every test. Then what
# users install: the sdist and, built from it, the wheel; their metadata and files checked; the wheel
# installed (not editable) into fresh venvs and tested there: pinned dependencies on Python 3.11, the
# declared minimum versions (constraints-floors.txt) on 3.11, pinned on the newest Python here, and
# the newest botocore on 3.11.
# Extra arguments go to the checkout's pytest alone, e.g. scripts/test.sh tests/unit -k signing
# (a focused run: the artifact stage is skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bash scripts/setup.sh
.venv/bin/python -m ruff check .
.venv/bin/python -m ruff format --check .
.venv/bin/python -m mypy
# The docs site (mkdocs.yml), strictly: a broken link, anchor or API reference (`::: name`) fails
# the run. Built into the scratch directory, offline (no inventories are fetched).
.venv/bin/python -m mkdocs build --strict --site-dir "$work/site"
.venv/bin/python scripts/generate.py --check
.venv/bin/python -m pytest "$@"
if [ $# -gt 0 ]; then
    echo "test.sh: pytest arguments given, so the wheel was not built nor tested"
    exit 0
fi

# What the installed wheel is tested with, on each interpreter and at the floors: everything that
# imports only the package and the test tools, with the model snapshot (scripts/codegen/snapshots)
# the generated code was made from, which the tests compare with (tests/models.py). Left to the
# checkout's run: the tests that read the source tree (generated-code freshness, the layering of
# the source files), and the slow server suites.
installed_tests=(
    tests/unit
    --ignore=tests/unit/test_generated.py
    --ignore=tests/unit/test_layers.py
    tests/conformance/test_records.py
    tests/conformance/test_streams.py
    tests/cli/test_streams.py::test_create_ls_describe_delete_in_text_and_json
)

echo "== build: sdist, then the wheel from the sdist (python -m build, isolated, setuptools pinned)"
PIP_CONSTRAINT="$root/constraints.txt" .venv/bin/python -m build --outdir "$work/dist" . >"$work/build.log" 2>&1 ||
    { cat "$work/build.log"; exit 1; }
.venv/bin/python scripts/check_dist.py "$work/dist"
wheel=$(echo "$work"/dist/*.whl)

# The tests away from the checkout, so that `import aiokinesis` can only find the installed wheel.
tar --exclude=node_modules --exclude=__pycache__ -cf - tests pyproject.toml scripts/codegen/snapshots | tar -C "$work" -xf -
ln -s "$root/tests/kinesis_local/node_modules" "$work/tests/kinesis_local/node_modules"
ln -s "$root/tests/dynamodb_local/node_modules" "$work/tests/dynamodb_local/node_modules"

# The newest interpreter on this machine above 3.11 (PATH, then pyenv's versions), or nothing.
newest_python() {
    local v cand
    for v in 3.15 3.14 3.13 3.12; do
        for cand in "$(command -v "python$v" || true)" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v"*/bin/"python$v"; do
            if [ -n "$cand" ] && [ -x "$cand" ] && "$cand" -c 'import ensurepip, venv' 2>/dev/null; then
                echo "$cand"
                return
            fi
        done
    done
}

# run_installed LABEL PYTHON CONSTRAINTS TESTS...: a fresh venv, the wheel with [test,cli], the tests.
run_installed() {
    local label=$1 python=$2 constraints=$3 venv="$work/venv-$1"
    shift 3
    echo "== installed wheel, $label: $("$python" -c 'import platform; print(platform.python_version())')"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -c "$constraints" "$wheel[test,cli]"
    (
        cd "$work"
        "$venv/bin/python" - "$venv" <<'EOF'
import sys
from importlib.metadata import version
from pathlib import Path

import aiohttp, aiokinesis, botocore, orjson

where = Path(aiokinesis.__file__).resolve()
assert where.is_relative_to(Path(sys.argv[1]).resolve()), f"imported {where}, not the installed wheel"
print(f"aiokinesis-sdk {version('aiokinesis-sdk')} from {where.parent}; aiohttp {aiohttp.__version__},",
      f"botocore {botocore.__version__}, orjson {orjson.__version__}")
EOF
        "$venv/bin/aiokinesis" --help >/dev/null
        "$venv/bin/python" -m pytest -p no:cacheprovider -q "$@"
    )
}

# The floors, and the pins of everything else but what the floors themselves constrain.
floor_families='aiohttp|aiohappyeyeballs|aiosignal|attrs|frozenlist|multidict|propcache|yarl|botocore|boto3|s3transfer|jmespath|urllib3|python-dateutil|orjson'
grep -vE "^($floor_families)==" constraints.txt >"$work/floors.txt"
cat constraints-floors.txt >>"$work/floors.txt"
py311=${PYTHON:-python3}
run_installed pinned "$py311" "$root/constraints.txt" "${installed_tests[@]}"
run_installed floors "$py311" "$work/floors.txt" "${installed_tests[@]}"
newest=$(newest_python)
if [ -n "$newest" ]; then
    run_installed newest "$newest" "$root/constraints.txt" "${installed_tests[@]}"
else
    echo "== installed wheel, newest Python: SKIPPED, no python3.12 or newer on this machine"
fi

# The newest botocore release (with its boto3) instead of the pin: the generated code is judged by
# the models' content, not botocore's version, so a release with the same models passes as the pin
# does. One whose models changed is reported by generate.py --check (what to regenerate before
# moving the pin), not failed: users may install any botocore within pyproject's range.
grep -vE "^(boto3|botocore|s3transfer)==" constraints.txt >"$work/newest-botocore.txt"
run_installed newest-botocore "$py311" "$work/newest-botocore.txt" "${installed_tests[@]}"
"$work/venv-newest-botocore/bin/python" scripts/generate.py --check ||
    echo "== the newest botocore's models differ from the pin's (above): regenerate before moving the pin"
