#!/usr/bin/env bash
# `make bench` drives HTTP load with wrk (a C load generator: the client must not eat the 2 cores the
# server is measured on). Debian package; installed when missing.
set -euo pipefail
if ! command -v wrk >/dev/null 2>&1; then
  echo ">> installing wrk (Debian package) for the load benchmarks"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk
fi
