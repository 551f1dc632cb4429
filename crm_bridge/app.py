"""The FastAPI application (run with `uvicorn crm_bridge.app:create_app --factory`)."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from crm_bridge.access_log import AccessLogMiddleware
from crm_bridge.agent.views import router as agent_router
from crm_bridge.agent.ws import router as agent_ws_router
from crm_bridge.body_limit import BodyLimitMiddleware
from crm_bridge.channels import registry as channels  # also registers every channel's sender
from crm_bridge.channels.admin.views import router as channels_admin_router
from crm_bridge.chat.views import router as chat_router
from crm_bridge.contacts.views import router as contacts_router
from crm_bridge.conversations.views import router as conversations_router
from crm_bridge.erasure.views import router as erasure_router
from crm_bridge.errors import install_error_handlers
from crm_bridge.escalation.views import router as escalation_router
from crm_bridge.feedback.views import router as feedback_router
from crm_bridge.health import router as health_router
from crm_bridge.jobs.views import router as jobs_router
from crm_bridge.kb.views import router as kb_router
from crm_bridge.monitoring.views import router as metrics_router
from crm_bridge.observability.http import MetricsMiddleware
from crm_bridge.observability.tracing import instrument_app
from crm_bridge.openapi import install_openapi
from crm_bridge.outbox.worker import start_zoho_worker
from crm_bridge.pages.reports import router as report_pages_router
from crm_bridge.pages.views import STATIC_DIR
from crm_bridge.pages.views import router as pages_router
from crm_bridge.rasa_client import RasaClient
from crm_bridge.ratelimit import SlidingWindow
from crm_bridge.realtime import bus as realtime
from crm_bridge.reports.views import router as reports_router
from crm_bridge.reports.voice_views import router as voice_reports_router
from crm_bridge.request_id import RequestIdMiddleware
from crm_bridge.security_headers import SecurityHeadersMiddleware
from crm_bridge.sentiment.views import router as sentiment_router
from crm_bridge.shutdown import install as install_drain
from crm_bridge.shutdown import on_sigterm as drain_on_sigterm
from crm_bridge.tickets.views import router as tickets_router
from crm_bridge.users.views import router as users_router
from crm_bridge.widget.views import WidgetCorsMiddleware
from crm_bridge.widget.views import router as widget_router
from crm_bridge.widget.ws import router as widget_ws_router
from crm_bridge.worker import start_in_app as start_job_workers
from kefu_core.db import get_sessionmaker
from kefu_core.logs import configure as configure_logging
from kefu_core.settings import get_settings
from knowledge_base.runtime import build_retriever
from sentiment.runtime import warm_sentiment

log = logging.getLogger("kefu")
__all__ = ["create_app"]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build the FAQ index and the Rasa client once per process."""
    if getattr(app.state, "running", False):
        # A second lifespan on an app that is already serving (a test tool's ASGI client wrapping the
        # same app): sharing what the first one built, rather than replacing its bus and clients.
        yield
        return
    app.state.running = True
    settings = get_settings()
    with get_sessionmaker()() as session:
        app.state.retriever = build_retriever(
            session, settings.embedding_model, language_models=settings.language_embedding_models
        )
    log.info("knowledge base indexed: %d entries", app.state.retriever.size)
    app.state.rasa = RasaClient(settings.rasa_replicas, timeout_s=settings.rasa_timeout_s)
    # Built once per process (shares the KB's MiniLM); a missing model is trained here, not in a turn.
    warm_sentiment()
    # The models and index are hundreds of thousands of long-lived objects; keeping them out of the
    # collector's full passes removes multi-millisecond pauses from request latency.
    gc.collect()
    gc.freeze()
    # Delivers queued writes to Zoho CRM when KEFU_ZOHO_* credentials are set; None otherwise.
    worker = start_zoho_worker(get_sessionmaker())
    # Events for the widget and agent sockets: Redis pub/sub across workers when REDIS_URL is set.
    app.state.bus = realtime.make_bus(settings.redis_url, settings.redis_prefix)
    await app.state.bus.start()
    realtime.attach(app.state.bus)
    app.state.presence_tasks = set()  # agent sockets' delayed "gone away" checks (agent/ws.py)
    # The job queue (SQLite under var/ or Redis) and, unless KEFU_JOBS_APP_WORKERS=0, its worker threads.
    jobs = start_job_workers(settings)
    drain_on_sigterm(app, jobs)  # ready now (/readyz); SIGTERM drains before uvicorn stops (shutdown.py)
    yield
    if jobs is not None:
        jobs.stop(graceful=True)
    for task in list(app.state.presence_tasks):
        task.cancel()
    # Other apps in this process (tests start more than one) keep publishing to their own bus.
    realtime.detach(app.state.bus)
    await app.state.bus.stop()
    if worker is not None:
        worker.stop()
    app.state.rasa.close()
    app.state.running = False


def create_app() -> FastAPI:
    """A configured kefu API."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    docs = settings.public_docs if settings.public_docs is not None else settings.env == "development"
    app = FastAPI(
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        title="kefu CRM bridge",
        version="0.1.0",
        description="Chat channels, CRM records, knowledge base and escalation for the kefu assistant.",
        lifespan=lifespan,
    )

    app.state.widget_sessions = SlidingWindow(settings.widget_sessions_per_minute)
    app.state.customer_rate = SlidingWindow(settings.customer_rate_per_minute)
    app.add_middleware(WidgetCorsMiddleware)
    install_error_handlers(app)
    app.add_middleware(
        BodyLimitMiddleware,
        default=settings.max_body_bytes,
        by_prefix={"/api/v1/kb/import": settings.max_import_bytes},
    )
    if settings.env == "production":
        app.add_middleware(SecurityHeadersMiddleware)  # HSTS and a CSP on every response
    install_drain(app, settings.shutdown_timeout_s)  # closes WebSockets with 1012 on SIGTERM
    app.add_middleware(AccessLogMiddleware)  # inside the request id, so each line carries it
    app.add_middleware(MetricsMiddleware)  # request latency per route template (/metrics)
    app.add_middleware(RequestIdMiddleware)  # added last: outermost, so every response carries the id
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(chat_router)
    app.include_router(kb_router)
    app.include_router(users_router)
    app.include_router(tickets_router)
    app.include_router(contacts_router)
    app.include_router(feedback_router)
    app.include_router(erasure_router)
    app.include_router(conversations_router)
    app.include_router(escalation_router)
    app.include_router(sentiment_router)
    app.include_router(agent_router)
    app.include_router(agent_ws_router)
    app.include_router(widget_router)
    app.include_router(widget_ws_router)
    for channel_router in channels.routers():
        app.include_router(channel_router)
    app.include_router(channels_admin_router)
    app.include_router(jobs_router)
    app.include_router(pages_router)
    app.include_router(report_pages_router)
    app.include_router(reports_router)
    app.include_router(voice_reports_router)
    app.mount("/admin/static", StaticFiles(directory=STATIC_DIR), name="admin-static")
    install_openapi(app)
    instrument_app(app, settings.otel_endpoint)  # OpenTelemetry traces when KEFU_OTEL_ENDPOINT is set
    return app
