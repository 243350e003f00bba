#!/usr/bin/env bash
# The example backend as a third party runs it: its own virtual environment, genesis-flow-store from
# this checkout with the `testing` extra, the example, then the contract kit on it. The example
# serves every port, so the whole kit must pass: a skipped test fails this script.
#
#   bash examples/jsonstore/run-kit.sh        (from anywhere; CI runs it from scripts/checks.sh)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"${PYTHON:-python3}" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check -c "$root/constraints.txt" \
  "$root[testing]" "$here"
cd "$here"
rc=0
GENESIS_HYPOTHESIS_PROFILE="${GENESIS_HYPOTHESIS_PROFILE:-ci}" \
  "$work/venv/bin/python" -m pytest -p genesis_flow.testing -p no:cacheprovider -q tests \
  | tee "$work/kit.log" || rc=$?
summary="$(tail -n 1 "$work/kit.log")"
echo "contract kit on genesis-jsonstore: $summary"
if [ "$rc" -eq 0 ] && grep -q "skipped" <<<"$summary"; then
  echo "the example serves every port: no kit test may be skipped" >&2
  rc=1
fi
exit "$rc"
