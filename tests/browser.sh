#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (tests/e2e/browser/).
# Safe to run again: it does nothing when the browser is there.
#
# The tests drive this browser through Playwright with `executable_path`; nothing ever
# downloads a browser of its own (never `playwright install`). Installs with apt as root (or
# through sudo) when it is missing; otherwise says what to install.
set -euo pipefail

CHROMIUM=${HAVEN_CHROMIUM:-/usr/bin/chromium}

say() { printf '[browser] %s\n' "$*"; }

# shellcheck source=tests/apt.sh
source "$(dirname "$0")/apt.sh"

if [ -x "$CHROMIUM" ]; then
  exit 0
fi
apt_install "Chromium at $CHROMIUM (or set HAVEN_CHROMIUM to its path)" chromium
if [ ! -x "$CHROMIUM" ]; then
  say "apt installed chromium, yet $CHROMIUM is missing: set HAVEN_CHROMIUM to its path."
  exit 1
fi
say "$("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM") is ready."
