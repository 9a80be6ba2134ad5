#!/usr/bin/env bash
# The peers benchmark: one venv per set of pins under bench/.venvs (ignored), made from
# bench/peers_requirements/*.txt, then bench/peers.py runs every peer against the same stub.
# aiobotocore (and async-kinesis, aiokpl, which sit on it) pins botocore below constraints.txt,
# so aiokinesis gets a venv of its own with the project's constraints. Arguments go to peers.py.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
install() {  # venv name, then pip arguments
    local venv=bench/.venvs/$1
    shift
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
}
install aiokinesis -c constraints.txt -r bench/peers_requirements/aiokinesis.txt -e .
install aiobotocore -r bench/peers_requirements/aiobotocore.txt
install capo -r bench/peers_requirements/capo.txt
exec bench/.venvs/aiokinesis/bin/python bench/peers.py "$@"
