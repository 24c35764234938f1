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

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo "$@"
  else
    return 1
  fi
}

if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "Please install Chromium at $CHROMIUM (or set HAVEN_CHROMIUM to its path)."
  exit 1
fi
say "installing chromium with apt (about a minute)"
if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
  ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
  say "Could not install chromium: run as root, or install it yourself:"
  say "  sudo apt-get install -y chromium"
  exit 1
fi
if [ ! -x "$CHROMIUM" ]; then
  say "apt installed chromium, yet $CHROMIUM is missing: set HAVEN_CHROMIUM to its path."
  exit 1
fi
say "$("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM") is ready."
