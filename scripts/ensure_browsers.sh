#!/usr/bin/env bash
# Make sure a Chromium for the Playwright page tests is installed: Debian's package at /usr/bin/chromium.
# (Never `playwright install`: the tests use the system browser and the machine may be offline.)
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [[ -x "$CHROMIUM" ]]; then
    exit 0
fi

echo "== installing Debian's chromium (for the admin page tests)"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: $CHROMIUM is missing and apt-get is not available; install Chromium so that $CHROMIUM exists" >&2
    exit 1
fi
SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "error: $CHROMIUM is missing; run as root (or install sudo): apt-get install -y chromium" >&2
        exit 1
    fi
fi
if ! $SUDO apt-get update -qq || ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium; then
    echo "error: could not install chromium with apt-get (offline, or no package 'chromium' in the sources?)" >&2
    exit 1
fi
if [[ ! -x "$CHROMIUM" ]]; then
    echo "error: chromium was installed but $CHROMIUM does not exist" >&2
    exit 1
fi
echo "   $($CHROMIUM --version 2>/dev/null || echo chromium) ready"
