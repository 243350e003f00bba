#!/usr/bin/env bash
# The test command (README): installs the project with its dev tools into .venv when needed,
# starts the test servers (scripts/services.sh) and runs every check against them.
#
#   bash scripts/test.sh [PYTEST ARGS...]
#
# GENESIS_VENV picks another virtual environment; GENESIS_SERVICES a subset of the servers.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${GENESIS_VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
# Strict editable install: static tools (mypy, import-linter) see the mapped packages
# (docs/adr/0002-installed-namespace.md). Re-run on every test run so new modules are linked;
# build/ goes first, so a module deleted from src/ never survives there as a stale copy.
rm -rf build
# The distribution was renamed (docs/adr/0023): a venv made before still has the old one, whose
# entry points (`genesis`, the MLflow plugin) would be registered twice.
if compgen -G "$venv/lib/python*/site-packages/genesis_flow-*.dist-info" >/dev/null; then
  "$venv/bin/python" -m pip uninstall --quiet --yes --disable-pip-version-check genesis-flow
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -c constraints.txt \
  -e ".[dev]" --config-settings editable_mode=strict
export PATH="$PWD/$venv/bin:$PATH"

# The backends whose servers services.sh starts must run: for them a skip would hide a broken CI.
required="memory,sql-sqlite,plugin-toy"
if [ -z "${GENESIS_SERVICES:-}" ] || [[ ",$GENESIS_SERVICES," == *",postgres,"* ]]; then
  required="$required,sql-postgres"
fi
if [ -z "${GENESIS_SERVICES:-}" ] || [[ ",$GENESIS_SERVICES," == *",mongo,"* ]]; then
  required="$required,mongo,cosmos"  # cosmos: the Cosmos adapter behind the throttling proxy
fi
required="$required,local"  # the local artifact store needs nothing
# Debian's chromium for the UI test (tests/integration/test_plugin_ui.py), installed when missing.
# Where it cannot be installed the UI test is skipped with its reason; where it can (CI), it must run.
if bash scripts/browser.sh; then
  required="$required,ui"
else
  echo "browser: not available, the UI test will be skipped"
fi
if [ -z "${GENESIS_SERVICES:-}" ] || [[ ",$GENESIS_SERVICES," == *",azurite,"* ]]; then
  required="$required,azure-blob"  # artifacts on Azurite
fi
export GENESIS_REQUIRED_BACKENDS="${GENESIS_REQUIRED_BACKENDS:-$required}"
exec bash scripts/services.sh bash scripts/checks.sh "$@"
