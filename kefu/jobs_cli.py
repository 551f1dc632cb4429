"""`kefu jobs worker|list|replay`: run queue workers, see waiting and dead jobs, replay dead ones."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from crm_bridge import worker
from crm_bridge.audit import service as audit
from crm_bridge.jobs import queue
from crm_bridge.jobs import service as jobs
from crm_bridge.jobs.models import DeadJobStatus
from crm_bridge.migrate import upgrade
from crm_bridge.observability.tracing import start_tracing
from kefu_core.db import make_engine
from kefu_core.errors import DomainError
from kefu_core.logs import configure as configure_logging
from kefu_core.settings import get_settings

STATUSES = ["queued", "scheduled", "dead", "replayed"]


def _session() -> tuple[Session, Engine]:
    url = get_settings().database_url
    upgrade(url)  # like `kefu outbox`: works on a database that was never migrated
    engine = make_engine(url)
    return Session(engine), engine


def jobs_worker(args: argparse.Namespace) -> int:
    """Run queue workers in the foreground (Ctrl-C or SIGTERM stops them after their current job)."""
    settings = get_settings()
    upgrade(settings.database_url)
    # huey logs each job's task name and id (never its arguments' contents) and every retry; redacted, and
    # one JSON object per line with KEFU_LOG_FORMAT=json (httpx's request lines, with tokens, are off).
    configure_logging(
        settings.log_level,
        settings.log_format,
        text_format="%(asctime)s %(processName)s %(name)s %(levelname)s %(message)s",
    )
    start_tracing(settings.otel_endpoint, "kefu-jobs")  # KEFU_OTEL_ENDPOINT: each turn's Rasa call traced
    print(
        f"job workers: {args.workers} {'processes' if args.processes else 'threads'} on the "
        f"{settings.jobs_backend} queue",
        flush=True,
    )
    worker.start_workers(args.workers, processes=args.processes)
    return 0


def _queued_rows(status: str, limit: int) -> list[tuple[str, ...]]:
    queue.configure()
    rows: list[tuple[str, ...]] = []
    for job in jobs.queued(scheduled=status == "scheduled", limit=limit):
        eta = job.eta.strftime("%Y-%m-%d %H:%M:%S UTC") if job.eta else "-"
        rows.append(("-", job.task, status, ", ".join(map(str, job.args)), eta, job.job_id))
    return rows


def jobs_list(args: argparse.Namespace) -> int:
    """Print jobs: waiting on the queue (queued, scheduled) or kept in the database (dead, replayed)."""
    table = Table(title=f"jobs ({args.status})")
    for column in ("id", "task", "status", "arguments", "when", "job id / error"):
        table.add_column(column, overflow="fold")
    if args.status in ("queued", "scheduled"):
        rows = _queued_rows(args.status, args.limit)
    else:
        session, engine = _session()
        try:
            rows = [
                (
                    str(job.id),
                    job.task,
                    job.status.value,
                    ", ".join(map(str, job.args)),
                    (job.replayed_at or job.failed_at).strftime("%Y-%m-%d %H:%M:%S UTC"),
                    job.error[:200],
                )
                for job in jobs.list_dead(session, DeadJobStatus(args.status), limit=args.limit)
            ]
        finally:
            session.close()
            engine.dispose()
    for row in rows:
        table.add_row(*row)
    Console().print(table if rows else f"no {args.status} jobs")
    return 0


def jobs_replay(args: argparse.Namespace) -> int:
    """Put the given dead jobs, or every dead one, back on the queue."""
    if bool(args.ids) == bool(args.all_dead):
        print("give dead job ids or --all-dead (not both)", file=sys.stderr)
        return 2
    queue.configure()
    session, engine = _session()
    try:
        replayed = jobs.replay(session, None if args.all_dead else args.ids)
        audit.record(
            session,
            None,
            audit.cli_operator(),
            action="jobs.replay",
            target_type="job",
            details={"ids": [job.id for job in replayed][:100], "count": len(replayed), "via": "cli"},
        )
        session.commit()
    except DomainError as exc:
        session.rollback()
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        session.close()
        engine.dispose()
    print(f"{len(replayed)} job(s) put back on the queue")
    return 0


def add_jobs_commands(subparsers: Any) -> None:
    """Register `jobs worker`, `jobs list` and `jobs replay` on the `kefu` subcommand parsers."""
    group = subparsers.add_parser("jobs", help="the job queue: workers, waiting and dead jobs")
    sub = group.add_subparsers(dest="jobs_command", required=True)
    run = sub.add_parser("worker", help="run job workers in the foreground")
    run.add_argument("--workers", type=int, default=2, help="how many (default 2)")
    run.add_argument("--processes", action="store_true", help="worker processes instead of threads")
    run.set_defaults(func=jobs_worker)
    listing = sub.add_parser("list", help="show jobs")
    listing.add_argument("--status", choices=STATUSES, default="dead")
    listing.add_argument("--limit", type=int, default=200)
    listing.set_defaults(func=jobs_list)
    again = sub.add_parser("replay", help="put dead jobs back on the queue")
    again.add_argument("ids", nargs="*", type=int, help="dead job ids")
    again.add_argument("--all-dead", action="store_true", help="every dead job")
    again.set_defaults(func=jobs_replay)
