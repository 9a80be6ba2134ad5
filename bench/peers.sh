#!/usr/bin/env bash
# The peers benchmark: one venv per set of pins under bench/.venvs (ignored), made from
# bench/peers_requirements/*.txt, then bench/peers.py runs every peer against the same stub.
# aiobotocore (and async-kinesis, aiokpl, which sit on it) pins botocore below constraints.txt,
# so aiokinesis gets a venv of its own with the project's constraints. Arguments go to peers.py
# (--ab VENV runs every aiokinesis case from bench/.venvs/VENV too: make it with
# `python3 -m venv bench/.venvs/VENV` and `pip install -c constraints.txt -r
# bench/peers_requirements/aiokinesis.txt DIR`, DIR a checkout of the other side).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
install() {  # venv name, then pip arguments
    local venv=bench/.venvs/$1
    shift
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
}
# Not editable: an editable install's import hook costs ~100 ms of the import figures (measured);
# pip builds and installs the work tree anew on every run.
install aiokinesis -c constraints.txt -r bench/peers_requirements/aiokinesis.txt .
install aiobotocore -r bench/peers_requirements/aiobotocore.txt
install capo -r bench/peers_requirements/capo.txt
exec bench/.venvs/aiokinesis/bin/python bench/peers.py "$@"
