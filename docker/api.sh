#!/bin/sh
# One crm_bridge api worker in a container (migrations are the `migrate` service's / Job's work, not this).
# exec: uvicorn is PID 1 and gets SIGTERM itself, so it drains (crm_bridge/shutdown.py) before it stops.
exec uvicorn crm_bridge.app:create_app --factory --host 0.0.0.0 --port "${KEFU_PORT:-8000}" \
    --no-access-log --ws-max-size 65536 \
    --proxy-headers --forwarded-allow-ips "${KEFU_TRUSTED_PROXIES-127.0.0.1}"
