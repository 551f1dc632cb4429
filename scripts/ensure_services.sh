#!/usr/bin/env bash
# The test suite needs PostgreSQL at 127.0.0.1:5432 (trust auth). It runs on every machine here;
# if it has stopped, start it the way the machine starts it.
set -euo pipefail
pg_ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
if ! pg_ready; then
  echo ">> PostgreSQL is not answering on 127.0.0.1:5432; starting it"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
fi
pg_ready || { echo "PostgreSQL is not reachable on 127.0.0.1:5432; the PostgreSQL tests need it" >&2; exit 1; }
