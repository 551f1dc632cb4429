#!/usr/bin/env bash
# Make sure the page tests and charts have what they draw with: Debian's Chromium at /usr/bin/chromium (driven by
# Playwright) and a CJK font (fonts-noto-cjk), so Chinese shows in screenshots and in `kb eval` / `sentiment eval`
# charts. (Never `playwright install`: the tests use the system browser and the machine may be offline.)
set -euo pipefail
source "$(dirname "$0")/apt_install.sh"

CHROMIUM=/usr/bin/chromium
missing=()
[[ -x "$CHROMIUM" ]] || missing+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

apt_install "page tests, CJK text in screenshots and charts" "${missing[@]}"
if [[ ! -x "$CHROMIUM" ]]; then
    echo "error: chromium was installed but $CHROMIUM does not exist" >&2
    exit 1
fi
echo "   $($CHROMIUM --version 2>/dev/null || echo chromium) ready"
