"""Everything a job worker runs: the queue with every task registered (crm_bridge's in-app threads and
`kefu jobs worker` processes both start from here)."""

from __future__ import annotations

from huey import crontab
from huey.consumer import Consumer

from crm_bridge.audit.retention import purge_expired
from crm_bridge.channels import registry as _channels  # registers channels.deliver and the senders
from crm_bridge.jobs import queue
from crm_bridge.jobs import service as _dead_jobs  # registers the dead-job hook
from crm_bridge.monitoring import jobs as _job_metrics  # job counters for /metrics (huey signals)
from crm_bridge.realtime import bus as realtime
from crm_bridge.reports import probe as _probe  # registers reports.probe and reports.probe_purge
from crm_bridge.turns import tasks as _turn_tasks  # registers turns.process and turns.sweep
from kefu_core.settings import Settings, get_settings
from sentiment.runtime import warm_sentiment

__all__ = [
    "_channels",
    "_dead_jobs",
    "_job_metrics",
    "_probe",
    "_turn_tasks",
    "audit_purge",
    "start_in_app",
    "start_workers",
]

# Hourly: audit-log entries older than KEFU_AUDIT_RETENTION_DAYS go (registered here: the audit log
# imports nothing of the queue).
audit_purge = queue.huey.periodic_task(crontab(minute="41"), name="audit.purge")(purge_expired)


def start_in_app(settings: Settings | None = None) -> Consumer | None:
    """Point the queue at its storage and start KEFU_JOBS_APP_WORKERS worker threads (None when 0)."""
    settings = settings or get_settings()
    queue.configure(settings)
    return queue.start_in_app(settings.jobs_app_workers, shutdown_timeout=settings.rasa_timeout_s + 5)


def start_workers(workers: int, *, processes: bool) -> None:
    """Run worker threads or processes in the foreground until SIGINT/SIGTERM (`kefu jobs worker`)."""
    settings = get_settings()
    if settings.redis_url:  # replies and turn ends reach crm_bridge's sockets and waiting requests
        realtime.attach(realtime.RedisPublisher(settings.redis_url, settings.redis_prefix))
    queue.configure()
    warm_sentiment()  # a missing model is trained here, not inside the first turn (under its lease)
    queue.run_consumer(workers, processes=processes, shutdown_timeout=settings.shutdown_timeout_s)
