"""Availability: the share of probed minutes in which every part was healthy, per part, and how many
minutes of the period have no probe at all (docs/reports.md "Availability").

The segment filters (channel, language, agent, tier, tag) do not apply: the service is up or down for
everyone."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, case, func, select
from sqlalchemy.orm import Session

from crm_bridge.reports import metrics
from crm_bridge.reports.filters import ReportFilter
from crm_bridge.reports.models_probe import ServiceProbe
from crm_bridge.reports.probe import PARTS, minute_of
from kefu_core.db import utcnow
from kefu_core.settings import get_settings
from kefu_core.targets import ServiceTargets

_PART_COLUMNS = {
    "database": ServiceProbe.database_ok,
    "rasa": ServiceProbe.rasa_ok,
    "action_server": ServiceProbe.action_server_ok,
    "knowledge_base": ServiceProbe.knowledge_base_ok,
}


def _ones(column: Any) -> Any:
    return func.coalesce(func.sum(case((column, 1), else_=0)), 0)


def elapsed_minutes(start: datetime, end: datetime, now: datetime) -> int:
    """Whole minutes that begin in [start, min(end, now)): the minutes a probe could have run."""
    first = minute_of(start) + (timedelta(minutes=1) if minute_of(start) < start else timedelta(0))
    last = min(end, now)
    return max(0, math.ceil((last - first).total_seconds() / 60)) if last > first else 0


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def compute(
    session: Session, flt: ReportFilter, targets: ServiceTargets, *, now: datetime | None = None
) -> dict[str, Any]:
    """{"rate", "target", "met", "by_part", "probed_minutes", "healthy_minutes", "unknown_minutes",
    "coverage"}: rates over probed minutes; minutes without a probe counted apart, never as up or down."""
    now = now or utcnow()
    row = session.execute(
        select(
            func.count(),
            _ones(ServiceProbe.healthy),
            *(_ones(column) for column in _PART_COLUMNS.values()),
        ).where(ServiceProbe.minute >= flt.start, ServiceProbe.minute < flt.end, ServiceProbe.minute < now)
    ).one()
    probed, healthy = int(row[0]), int(row[1])
    elapsed = max(elapsed_minutes(flt.start, flt.end, now), probed)
    rate = _ratio(healthy, probed)
    target = targets.availability
    return {
        "rate": rate,
        "target": target,
        "met": None if rate is None or target is None else rate >= target,
        "by_part": {name: _ratio(int(row[2 + i]), probed) for i, name in enumerate(PARTS)},
        "probed_minutes": probed,
        "healthy_minutes": healthy,
        "unknown_minutes": elapsed - probed,
        "coverage": _ratio(probed, elapsed),
    }


def _value(session: Session, flt: ReportFilter) -> float | None:
    rate: float | None = compute(session, flt, get_settings().targets)["rate"]
    return rate


def _series(session: Session, flt: ReportFilter, interval: str) -> list[tuple[datetime, float | None]]:
    key = metrics.bucket(session, ServiceProbe.minute, interval)
    rows = session.execute(
        select(key, func.count(), _ones(ServiceProbe.healthy))
        .where(ServiceProbe.minute >= flt.start, ServiceProbe.minute < flt.end)
        .group_by(key)
    ).all()
    return metrics.fill(flt, interval, {metrics.start_of(k): _ratio(int(h), int(n)) for k, n, h in rows})


def _drilldown(
    session: Session, flt: ReportFilter, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """The probed minutes, unhealthy ones first (the minutes that cost availability), newest first."""
    where = (ServiceProbe.minute >= flt.start, ServiceProbe.minute < flt.end)
    total = int(session.scalar(select(func.count()).select_from(ServiceProbe).where(*where)) or 0)
    rows = session.scalars(
        select(ServiceProbe)
        .where(*where)
        .order_by(ServiceProbe.healthy.cast(Integer), ServiceProbe.minute.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    items = [
        {
            "id": r.minute.isoformat(),
            "kind": "minute",
            "minute": r.minute.isoformat(),
            "channel": None,
            "contact_id": None,
            "value": 1 if r.healthy else 0,
            "parts": {name: bool(getattr(r, f"{name}_ok")) for name in PARTS},
            "duration_ms": r.duration_ms,
        }
        for r in rows
    ]
    return items, total


metrics.register(
    metrics.Metric(
        name="availability",
        label="Availability (share of probed minutes with every part healthy)",
        unit="ratio",
        kind="minute",
        value=_value,
        series=_series,
        drilldown=_drilldown,
    )
)
