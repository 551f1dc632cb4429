"""The Prometheus series and timers the domains call, request metrics and OpenTelemetry traces (README
"Monitoring"); the /metrics route and the scrape-time figures are in `crm_bridge.monitoring`."""
