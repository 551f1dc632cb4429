"""OpenTelemetry traces over OTLP/HTTP, off unless KEFU_OTEL_ENDPOINT names a collector.

On: FastAPI requests become server spans, every httpx call a client span whose `traceparent` header
carries the trace to Rasa (and to IM platforms and the CRM), and each queued turn a `turns.process`
span around its Rasa call. Rasa Open Source 3.6 itself has no tracing (its `tracing:` endpoint section is
Rasa Pro only), so a trace ends at the Rasa call (README "Monitoring"). The SDK is imported only when on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider

# Probes and scrapes every few seconds would drown the traces that matter.
EXCLUDED_URLS = "livez,readyz,healthz,metrics"

_provider: TracerProvider | None = None
_lock = threading.Lock()


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL for a collector base URL (a URL already ending in /v1/traces is kept)."""
    endpoint = endpoint.strip().rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"


def start_tracing(endpoint: str, service: str) -> TracerProvider | None:
    """Export this process's spans to `endpoint` as `service` and trace httpx calls (once per process);
    None when `endpoint` is empty."""
    global _provider
    if not endpoint.strip():
        return None
    with _lock:
        if _provider is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            provider = TracerProvider(resource=Resource.create({"service.name": service}))
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(endpoint))))
            # Our own provider rather than the global one: a test process can switch tracing off again.
            HTTPXClientInstrumentor().instrument(tracer_provider=provider)
            _provider = provider
        return _provider


def instrument_app(app: FastAPI, endpoint: str, service: str = "kefu-crm-bridge") -> bool:
    """Trace the app's requests when `endpoint` is set; whether tracing is on."""
    provider = start_tracing(endpoint, service)
    if provider is None:
        return False
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=EXCLUDED_URLS)
    return True


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[None]:
    """A span around the block when tracing is on (a no-op otherwise)."""
    provider = _provider
    if provider is None:
        yield
        return
    with provider.get_tracer("kefu").start_as_current_span(name, attributes=attributes):
        yield


def flush(timeout_ms: int = 5000) -> bool:
    """Send the spans still buffered (tests, shutdown); True when none are left or tracing is off."""
    provider = _provider
    return True if provider is None else bool(provider.force_flush(timeout_ms))


def stop_tracing() -> None:
    """Flush, stop exporting and stop tracing httpx (tests switch tracing on and off in one process)."""
    global _provider
    with _lock:
        if _provider is None:
            return
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().uninstrument()
        _provider.shutdown()
        _provider = None
