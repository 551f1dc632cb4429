#!/usr/bin/env bash
# Make sure the deployment tests can validate docker-compose.yml without a Docker daemon: Debian's
# docker-compose package (v1.29, Python) parses, interpolates and schema-checks the file with `config`.
# (`docker compose` v2 is a plugin that may be absent; the tests use whichever tool answers.)
set -euo pipefail
source "$(dirname "$0")/apt_install.sh"

if command -v docker-compose >/dev/null 2>&1; then
    exit 0
fi
apt_install "the deployment tests validate docker-compose.yml with it" docker-compose
echo "   $(docker-compose version --short 2>/dev/null || echo docker-compose) ready"
