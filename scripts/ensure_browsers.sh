#!/usr/bin/env bash
# Make sure the page tests and charts have what they draw with: Debian's Chromium at /usr/bin/chromium (driven by
# Playwright) and a CJK font (fonts-noto-cjk), so Chinese shows in screenshots and in `kb eval` / `sentiment eval`
# charts. (Never `playwright install`: the tests use the system browser and the machine may be offline.)
set -euo pipefail

CHROMIUM=/usr/bin/chromium
missing=()
[[ -x "$CHROMIUM" ]] || missing+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

echo "== installing Debian's ${missing[*]} (page tests, CJK text in screenshots and charts)"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: ${missing[*]} missing and apt-get is not available; install them (Chromium must be at $CHROMIUM)" >&2
    exit 1
fi
SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "error: ${missing[*]} missing; run as root (or install sudo): apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi
if ! $SUDO apt-get update -qq || ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"; then
    echo "error: could not install ${missing[*]} with apt-get (offline, or not in the sources?)" >&2
    exit 1
fi
if [[ ! -x "$CHROMIUM" ]]; then
    echo "error: chromium was installed but $CHROMIUM does not exist" >&2
    exit 1
fi
echo "   $($CHROMIUM --version 2>/dev/null || echo chromium) ready"
