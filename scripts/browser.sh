#!/usr/bin/env bash
# The browser of the UI end-to-end test (tests/integration/test_plugin_ui.py): Debian's chromium,
# installed with apt-get when missing, as services.sh installs PostgreSQL.
#
#   bash scripts/browser.sh        # no-op when /usr/bin/chromium exists
#
# Playwright (the Python package in the dev extra) drives this system browser through its
# executable path: `playwright install` is never run, so nothing is downloaded at test time.
# Needs root (or an apt-get that works for the current user); without it, the script says so and
# fails, and the UI test is skipped unless GENESIS_REQUIRED_BACKENDS lists "ui".
set -euo pipefail

CHROMIUM=/usr/bin/chromium  # the path the UI test launches

if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "browser: $CHROMIUM is missing and apt-get is unavailable: install Debian's chromium package" >&2
  exit 1
fi
echo "browser: installing chromium with apt-get (for the UI test)"
log=$(mktemp "${TMPDIR:-/tmp}/genesis-browser.XXXXXX")
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends chromium; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "browser: apt-get could not install chromium (see above)" >&2
  exit 1
fi
if [ ! -x "$CHROMIUM" ]; then
  echo "browser: apt-get installed chromium but $CHROMIUM is still missing" >&2
  exit 1
fi
echo "browser: $("$CHROMIUM" --version 2>/dev/null || echo chromium) ready"
