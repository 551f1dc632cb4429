#!/usr/bin/env bash
# Make sure the deployment tests can validate docker-compose.yml without a Docker daemon: Debian's
# docker-compose package (v1.29, Python) parses, interpolates and schema-checks the file with `config`.
# (`docker compose` v2 is a plugin that may be absent; the tests use whichever tool answers.)
set -euo pipefail

if command -v docker-compose >/dev/null 2>&1; then
    exit 0
fi

echo "== installing Debian's docker-compose (the deployment tests validate docker-compose.yml with it)"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: docker-compose missing and apt-get is not available; install docker-compose (v1.29+) or the docker compose plugin" >&2
    exit 1
fi
SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "error: docker-compose missing; run as root (or install sudo): apt-get install -y docker-compose" >&2
        exit 1
    fi
fi
if ! $SUDO apt-get update -qq || ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends docker-compose; then
    echo "error: could not install docker-compose with apt-get (offline, or not in the sources?)" >&2
    exit 1
fi
echo "   $(docker-compose version --short 2>/dev/null || echo docker-compose) ready"
