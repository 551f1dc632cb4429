"""Figures read from the database and the job queue when Prometheus scrapes (never counted in memory: every
worker and machine sees the same rows, so any crm_bridge worker can report them)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_bridge.channels.models import Delivery, DeliveryStatus
from crm_bridge.jobs import queue
from crm_bridge.jobs.models import DeadJob, DeadJobStatus
from crm_bridge.outbox.models import OutboxItem, OutboxStatus
from crm_bridge.turns.models import Turn, TurnStatus
from kefu_core.db import get_sessionmaker, utcnow

log = logging.getLogger("kefu.metrics")


def _age(oldest: datetime | None, now: datetime) -> float:
    return max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0


def _table_queues(session: Session) -> Iterator[tuple[str, int, float]]:
    """(queue, depth, age of its oldest item in seconds) for the queues kept as database rows."""
    now = utcnow()
    for name, column, created, waiting in (
        ("turns", Turn.id, Turn.created_at, Turn.status == TurnStatus.pending),
        ("deliveries", Delivery.id, Delivery.created_at, Delivery.status == DeliveryStatus.queued),
        ("crm_outbox", OutboxItem.id, OutboxItem.created_at, OutboxItem.status == OutboxStatus.pending),
    ):
        depth, oldest = session.execute(select(func.count(column), func.min(created)).where(waiting)).one()
        yield name, int(depth or 0), _age(oldest, now)


def _dead_items(session: Session) -> Iterator[tuple[str, int]]:
    """(outbox, items given up on): CRM writes, IM deliveries and jobs that exhausted their retries."""
    for name, column, dead in (
        ("crm_outbox", OutboxItem.id, OutboxItem.status == OutboxStatus.dead),
        ("deliveries", Delivery.id, Delivery.status == DeliveryStatus.failed),
        ("jobs", DeadJob.id, DeadJob.status == DeadJobStatus.dead),
    ):
        yield name, int(session.scalar(select(func.count(column)).where(dead)) or 0)


def _job_queue() -> tuple[int, int, float]:
    """huey's queue: (waiting now, scheduled for later, seconds the most overdue scheduled job is late).

    huey stores no enqueue time with a waiting job, so the age of the oldest job is given by the rows
    behind it (the turns and deliveries queues above) rather than by the queue itself.
    """
    now = utcnow().replace(tzinfo=None)  # huey keeps naive UTC times (utc=True)
    soonest = queue.huey.scheduled(limit=50)  # earliest first, in both storages
    late = [(now - task.eta).total_seconds() for task in soonest if task.eta is not None and task.eta < now]
    return queue.huey.pending_count(), queue.huey.scheduled_count(), max(late, default=0.0)


class StateCollector(Collector):
    """kefu_queue_depth, kefu_queue_oldest_age_seconds and kefu_outbox_dead_items, read at scrape time."""

    def collect(self) -> Iterable[GaugeMetricFamily]:
        """Query the database and the queue; a part that cannot be read is left out (and logged)."""
        depth = GaugeMetricFamily("kefu_queue_depth", "items waiting, by queue", labels=["queue"])
        age = GaugeMetricFamily(
            "kefu_queue_oldest_age_seconds", "age of the oldest waiting item (0 when empty)", labels=["queue"]
        )
        dead = GaugeMetricFamily(
            "kefu_outbox_dead_items", "items given up on after their last retry, by outbox", labels=["outbox"]
        )
        try:
            with get_sessionmaker()() as session:
                for name, count, oldest in _table_queues(session):
                    depth.add_metric([name], count)
                    age.add_metric([name], oldest)
                for name, count in _dead_items(session):
                    dead.add_metric([name], count)
        except Exception as exc:  # a scrape must still answer with what it has
            log.warning("metrics: database figures unavailable: %s", type(exc).__name__)
        try:
            pending, scheduled, late = _job_queue()
            depth.add_metric(["jobs"], pending)
            depth.add_metric(["jobs_scheduled"], scheduled)
            age.add_metric(["jobs_scheduled"], late)
        except Exception as exc:  # Redis away: the database figures still count
            log.warning("metrics: job queue figures unavailable: %s", type(exc).__name__)
        return [depth, age, dead]
