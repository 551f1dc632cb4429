"""Dead jobs: record, list and replay (no HTTP)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from huey.api import Task
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from crm_bridge.jobs.models import DeadJob, DeadJobStatus
from crm_bridge.jobs.queue import TASKS, huey, on_dead_job
from kefu_core.db import get_sessionmaker, utcnow
from kefu_core.errors import NotFound

log = logging.getLogger("kefu.jobs")


def record_dead(session: Session, *, task: str, job_id: str, args: Any, kwargs: Any, error: str) -> DeadJob:
    """Keep a task whose retries ran out; the caller commits."""
    dead = DeadJob(
        task=task,
        job_id=job_id,
        args=list(args or ()),
        kwargs=dict(kwargs or {}),
        error=error[:2000],
    )
    session.add(dead)
    session.flush()
    return dead


def list_dead(session: Session, status: DeadJobStatus | None = None, *, limit: int = 200) -> list[DeadJob]:
    """Dead (or replayed) jobs, oldest first."""
    stmt = select(DeadJob).order_by(DeadJob.id).limit(limit)
    if status is not None:
        stmt = stmt.where(DeadJob.status == status)
    return list(session.scalars(stmt))


def dead_page(
    session: Session, status: DeadJobStatus, *, limit: int, offset: int
) -> tuple[list[DeadJob], int]:
    """One page of dead (or replayed) jobs, oldest first, and how many there are."""
    where = DeadJob.status == status
    total = session.scalar(select(func.count()).select_from(DeadJob).where(where)) or 0
    items = session.scalars(select(DeadJob).where(where).order_by(DeadJob.id).limit(limit).offset(offset))
    return list(items), total


def replay(session: Session, ids: list[int] | None) -> list[DeadJob]:
    """Put the given dead jobs (None: every dead one) back on the queue; the caller commits.

    A job is enqueued before its row is marked: a crash in between replays it again rather than
    losing it, and every task is idempotent.
    """
    stmt = select(DeadJob).where(DeadJob.status == DeadJobStatus.dead).order_by(DeadJob.id)
    if ids is not None:
        stmt = stmt.where(DeadJob.id.in_(ids))
    jobs = list(session.scalars(stmt))
    if ids is not None:
        missing = set(ids) - {job.id for job in jobs}
        if missing:
            raise NotFound(f"no dead job with id {', '.join(map(str, sorted(missing)))}")
    for job in jobs:
        wrapper = TASKS.get(job.task)
        if wrapper is None:
            raise NotFound(f"dead job {job.id}: no task named {job.task!r} in this version")
        wrapper(*job.args, **job.kwargs)
        job.status = DeadJobStatus.replayed
        job.replayed_at = utcnow()
    session.flush()
    return jobs


def attempts_of(task: str) -> int | None:
    """How many times a job of `task` runs before it is dead (its first run and its retries); None for
    a task this version does not have. A dead job's row keeps no count of its own."""
    wrapper = TASKS.get(task)
    if wrapper is None:
        return None
    return int(getattr(wrapper.task_class, "default_retries", 0) or 0) + 1


@dataclass(frozen=True)
class QueuedJob:
    """A job waiting on the queue (now, or at `eta` for a retry)."""

    job_id: str
    task: str
    args: tuple[Any, ...]
    eta: datetime | None


def queued(*, scheduled: bool, limit: int = 200) -> list[QueuedJob]:
    """Jobs waiting to run now (`scheduled=False`) or later: retries and delayed runs."""
    items = huey.scheduled(limit) if scheduled else huey.pending(limit)
    return [QueuedJob(t.id, t.name, tuple(t.args), t.eta) for t in items]


def error_summary(exc: BaseException) -> str:
    """The error's type and first line; a database error's statement and parameters (which can hold a
    customer's words) are left out."""
    if isinstance(exc, StatementError):
        return f"{type(exc).__name__}: {type(exc.orig).__name__} (statement and parameters not kept)"
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first}"[:500]


def keep_dead(task: Task, exc: BaseException) -> None:
    """The dead-job hook: store the task in the database of the current settings."""
    with get_sessionmaker()() as session:
        record_dead(
            session,
            task=task.name,
            job_id=task.id,
            args=task.args,
            kwargs=task.kwargs,
            error=error_summary(exc),
        )
        session.commit()
    log.warning("job %s (%s) is dead after its last retry: %s", task.id, task.name, error_summary(exc))


on_dead_job(keep_dead)
