#!/usr/bin/env bash
# Every check, in the order that fails fastest. Run through scripts/test.sh, which provides the
# environment and the servers.
set -uo pipefail
cd "$(dirname "$0")/.."

paths=(src tests scripts examples)
[ -d bench ] && paths+=(bench)  # benchmarks land with the adapters they measure
echo "== ruff"; ruff check "${paths[@]}" && ruff format --check "${paths[@]}" || exit 1
echo "== mypy"; mypy -p genesis_flow || exit 1
echo "== mypy tests"; mypy tests || exit 1
echo "== pytest (architecture contracts run inside the suite)"
GENESIS_HYPOTHESIS_PROFILE="${GENESIS_HYPOTHESIS_PROFILE:-ci}" python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  # Exit code 5: the selection (e.g. -k) collected no tests. Nothing failed, so say so and pass.
  echo "pytest: no tests were collected by this selection"
  rc=0
fi
if [ "$rc" -eq 0 ] && [ "$#" -eq 0 ]; then
  # Full runs only: break one rule of the memory oracle at a time; a surviving mutation fails CI.
  echo "== mutation check of the contract suite"
  GENESIS_HYPOTHESIS_PROFILE=ci python scripts/mutation_check.py || rc=1
  # A third-party backend in its own virtual environment runs the contract kit (genesis_flow.testing).
  echo "== contract kit on the example backend (examples/jsonstore)"
  bash examples/jsonstore/run-kit.sh || rc=1
fi
exit "$rc"
