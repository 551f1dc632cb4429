"""Reports: the summary against the targets, time series, drill-down, breakdowns and the export rows.
Database work only; views are thin (crm_bridge/reports/views.py)."""

from __future__ import annotations

import importlib
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import distinct, select, union
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Tier
from crm_bridge.reports import kpis, metrics, pending
from crm_bridge.reports.filters import ReportFilter, check_interval
from crm_bridge.reports.models import ConversationFacts as F
from crm_bridge.reports.scope import conditions
from crm_bridge.users.models import User
from kefu_core.errors import Invalid
from kefu_core.settings import get_settings
from kefu_core.targets import ServiceTargets

BREAKDOWNS = ("channel", "language", "agent", "tier")
EXPORT_MAX_ROWS = 100_000


def _domain(name: str) -> Any:
    """A figure computed by another reports module (sla, csat, availability); None while it is not there."""
    try:
        return importlib.import_module(f"crm_bridge.reports.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"crm_bridge.reports.{name}":
            raise
        return None


_EMPTY: dict[str, dict[str, Any]] = {
    "csat": {
        "percent_satisfied": None,
        "score_100": None,
        "response_rate": None,
        "target": None,
        "met": None,
    },
    "sla": {"first_response_met": None, "resolution_met": None},
    "availability": {"rate": None, "target": None, "met": None, "by_part": {}},
}


def _other(name: str, session: Session, flt: ReportFilter, targets: ServiceTargets) -> dict[str, Any]:
    module = _domain(name)
    if module is None:
        return dict(_EMPTY[name])
    result: dict[str, Any] = module.compute(session, flt, targets)
    return result


def period(flt: ReportFilter) -> dict[str, Any]:
    """The `period` object: bounds, time zone and the segment filters applied."""
    return {
        "from": flt.start.isoformat(),
        "to": flt.end.isoformat(),
        "timezone": get_settings().timezone,
        "days": round(flt.days, 4),
        "filters": {
            "channel": flt.channel,
            "language": flt.language,
            "agent_id": flt.agent_id,
            "tier": flt.tier,
            "tag": flt.tag,
        },
    }


def summary(session: Session, flt: ReportFilter, targets: ServiceTargets | None = None) -> dict[str, Any]:
    """Every KPI of the period with its target and whether it was met (docs/reports.md)."""
    targets = targets or get_settings().targets
    pending.apply(session)  # the rollup exact before it is read (the caller commits the catch-up)
    conv = kpis.compute(session, flt, targets)
    volume = conv.pop("volume")
    return {
        "period": period(flt),
        "kpis": {
            **conv,
            "csat": _other("csat", session, flt, targets),
            "sla": _other("sla", session, flt, targets),
            "availability": _other("availability", session, flt, targets),
        },
        "volume": volume,
        "targets": targets.model_dump(),
    }


def timeseries(session: Session, flt: ReportFilter, metric: str, interval: str) -> list[dict[str, Any]]:
    """`[{"t", "value"}]`, one point per bucket of the period in KEFU_TIMEZONE."""
    check_interval(interval)
    found = metrics.get(metric)
    pending.apply(session)
    if interval == "hour" and flt.days > 31:
        raise Invalid("interval: hourly series cover at most 31 days", details={"field": "interval"})
    return [
        {"t": t.isoformat(), "value": round(v, 4) if v is not None else None}
        for t, v in found.series(session, flt, interval)
    ]


def drilldown(
    session: Session, flt: ReportFilter, metric: str, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """The conversations or tickets behind a figure, one page, with the total."""
    found = metrics.get(metric)
    pending.apply(session)
    return found.drilldown(session, flt, offset, limit)


def _groups(session: Session, flt: ReportFilter, by: str) -> list[tuple[str, str, ReportFilter]]:
    conds = conditions(session, flt)
    if by == "tier":
        return [(t.value, t.value, replace(flt, tier=t.value)) for t in Tier]
    if by in ("channel", "language"):
        column = F.channel if by == "channel" else F.language
        values = sorted(v for v in session.scalars(select(distinct(column)).where(*conds)) if v is not None)
        return [
            (v, v, replace(flt, channel=v) if by == "channel" else replace(flt, language=v)) for v in values
        ]
    if flt.agent_id is not None:  # an agent's breakdown (or a filtered one) shows that agent alone
        name = session.scalar(select(User.username).where(User.id == flt.agent_id))
        return [(str(flt.agent_id), name or str(flt.agent_id), flt)] if name else []
    agents = union(
        select(F.assignee_id.label("id")).where(*conds, F.assignee_id.is_not(None)),
        select(F.first_responder_id.label("id")).where(*conds, F.first_responder_id.is_not(None)),
    ).subquery()
    users = session.execute(
        select(User.id, User.username).where(User.id.in_(select(agents.c.id))).order_by(User.id)
    )
    return [(str(uid), name, flt.for_agent(uid)) for uid, name in users]


def breakdown(
    session: Session, flt: ReportFilter, by: str, targets: ServiceTargets | None = None
) -> list[dict[str, Any]]:
    """The main KPIs per channel, language, agent or tier (each group is the filter narrowed to it)."""
    if by not in BREAKDOWNS:
        raise Invalid(f"by: must be one of {', '.join(BREAKDOWNS)}", details={"field": "by"})
    targets = targets or get_settings().targets
    pending.apply(session)
    rows = []
    for key, label, narrowed in _groups(session, flt, by):
        conv = kpis.compute(session, narrowed, targets)
        csat = _other("csat", session, narrowed, targets)
        rows.append(
            {
                "key": key,
                "label": label,
                "filter": narrowed.as_query(),
                "conversations": conv["volume"]["conversations"],
                "first_response": conv["first_response"],
                "resolution": conv["resolution"],
                "fcr": conv["fcr"],
                "bot": {k: conv["bot"][k] for k in ("resolution_rate", "handoff_rate", "unanswered_rate")},
                "csat": {k: csat.get(k) for k in ("percent_satisfied", "score_100", "response_rate", "met")},
            }
        )
    return rows


def export_rows(session: Session, flt: ReportFilter, metric: str) -> tuple[list[dict[str, Any]], int]:
    """Every drill-down row of a figure (up to EXPORT_MAX_ROWS) for the CSV export."""
    return drilldown(session, flt, metric, 0, EXPORT_MAX_ROWS)


def metric_names() -> list[dict[str, Any]]:
    """The registered metrics (name, label, unit, kind) for the dashboard and the 422 message."""
    return [
        {"name": m.name, "label": m.label, "unit": m.unit, "kind": m.kind}
        for m in (metrics.get(n) for n in metrics.names())
    ]


def as_of(now: datetime) -> str:
    """An ISO timestamp for export file names."""
    return now.strftime("%Y%m%dT%H%M%SZ")
