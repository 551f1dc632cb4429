#!/usr/bin/env bash
# The test suite needs PostgreSQL at 127.0.0.1:5432 (trust auth) and Redis at 127.0.0.1:6379. Both run
# on every machine here; if one has stopped, start it the way the machine starts it.
set -euo pipefail
pg_ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
if ! pg_ready; then
  echo ">> PostgreSQL is not answering on 127.0.0.1:5432; starting it"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
fi
pg_ready || { echo "PostgreSQL is not reachable on 127.0.0.1:5432; the PostgreSQL tests need it" >&2; exit 1; }

# Redis at 127.0.0.1:6379 carries events between crm_bridge workers (the multi-worker tests use it).
redis_ready() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if ! redis_ready; then
  echo ">> Redis is not answering on 127.0.0.1:6379; starting it"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/kefu.log || true
  for _ in $(seq 1 30); do redis_ready && break; sleep 1; done
fi
redis_ready || { echo "Redis is not reachable on 127.0.0.1:6379; the multi-worker tests need it" >&2; exit 1; }
