#!/usr/bin/env bash
# `make bench` drives HTTP load with wrk (a C load generator: the client must not eat the 2 cores the
# server is measured on). Debian package; installed when missing.
set -euo pipefail
source "$(dirname "$0")/apt_install.sh"
if ! command -v wrk >/dev/null 2>&1; then
  apt_install "the load benchmarks" wrk
fi
