#!/usr/bin/env bash
# The example backend as a third party runs it: its own virtual environment, genesis-flow from
# this checkout with the `testing` extra, the example, then the contract kit on it.
#
#   bash examples/jsonstore/run-kit.sh        (from anywhere; CI runs it from scripts/checks.sh)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$(mktemp -d)/venv"
trap 'rm -rf "$(dirname "$venv")"' EXIT
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -c "$root/constraints.txt" \
  "$root[testing]" "$here"
cd "$here"
GENESIS_HYPOTHESIS_PROFILE="${GENESIS_HYPOTHESIS_PROFILE:-ci}" \
  "$venv/bin/python" -m pytest -p genesis_flow.testing -q tests
