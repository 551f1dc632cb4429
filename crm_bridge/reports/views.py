"""Report routes (admins; an agent sees only their own figures): summary, timeseries, drill-down,
breakdown and the CSV export. Thin: parse the filter, call the service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from crm_bridge.audit import service as audit
from crm_bridge.db import DbSession
from crm_bridge.pagination import PageParams, page_params
from crm_bridge.reports import pending, service
from crm_bridge.reports.export import csv_text
from crm_bridge.reports.filters import ReportFilter, build_filter
from crm_bridge.users.auth import Principal, require_role
from crm_bridge.users.models import Role
from kefu_core.db import utcnow

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
Staff = Annotated[Principal, require_role(Role.admin, Role.agent)]
Text = Annotated[str | None, Query(max_length=64)]


def report_filter(
    principal: Staff,
    start: Annotated[str | None, Query(alias="from", max_length=40, description="date or date-time")] = None,
    end: Annotated[
        str | None, Query(alias="to", max_length=40, description="date (inclusive) or date-time")
    ] = None,
    channel: Text = None,
    language: Annotated[str | None, Query(max_length=8)] = None,
    agent_id: Annotated[int | None, Query(ge=1)] = None,
    tier: Annotated[str | None, Query(max_length=16)] = None,
    tag: Text = None,
) -> ReportFilter:
    """The checked filter; an agent's is always narrowed to their own conversations."""
    flt = build_filter(
        start=start, end=end, channel=channel, language=language, agent_id=agent_id, tier=tier, tag=tag
    )
    if not principal.is_admin:
        assert principal.user_id is not None
        flt = flt.for_agent(principal.user_id)
    return flt


Filter = Annotated[ReportFilter, Depends(report_filter)]


def fresh_session(session: DbSession) -> Session:
    """The request's session with the rollup brought up to date first (conversations changed since the
    minute's job: crm_bridge/reports/pending.py)."""
    if pending.apply(session):
        session.commit()
    return session


Fresh = Annotated[Session, Depends(fresh_session)]
Metric = Annotated[
    str, Query(min_length=1, max_length=64, description="a metric name (GET /reports/metrics)")
]


@router.get("/summary")
def summary(_: Staff, session: Fresh, flt: Filter) -> dict[str, Any]:
    """Every KPI of the period against its target (docs/reports.md)."""
    return service.summary(session, flt)


@router.get("/metrics")
def list_metrics(_: Staff) -> dict[str, Any]:
    """The metric names timeseries, drilldown and export accept."""
    return {"items": service.metric_names()}


@router.get("/timeseries")
def timeseries(
    _: Staff,
    session: Fresh,
    flt: Filter,
    metric: Metric,
    interval: Annotated[str, Query(max_length=8, description="hour, day or week")] = "day",
) -> dict[str, Any]:
    """One point per hour, day or week (in KEFU_TIMEZONE) of the period."""
    return {
        "metric": metric,
        "interval": interval,
        "points": service.timeseries(session, flt, metric, interval),
    }


@router.get("/drilldown")
def drilldown(
    _: Staff,
    session: Fresh,
    flt: Filter,
    metric: Metric,
    page: Annotated[PageParams, Depends(page_params)],
) -> dict[str, Any]:
    """The conversations or tickets behind a figure, newest first, each with its own value."""
    items, total = service.drilldown(session, flt, metric, page.offset, page.limit)
    return {"items": items, "total": total}


@router.get("/breakdown")
def breakdown(
    _: Staff,
    session: Fresh,
    flt: Filter,
    by: Annotated[str, Query(max_length=16, description="channel, language, agent or tier")],
) -> dict[str, Any]:
    """The main KPIs per channel, language, agent or tier."""
    return {"by": by, "items": service.breakdown(session, flt, by)}


@router.get("/export.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export_csv(request: Request, principal: Staff, session: Fresh, flt: Filter, metric: Metric) -> Response:
    """A figure's drill-down rows as CSV (at most 100,000; then `X-Report-Truncated: true`). Recorded in the
    audit log (`reports.export`)."""
    items, total = service.export_rows(session, flt, metric)
    audit.record(
        session,
        request,
        principal,
        action="reports.export",
        target_type="report",
        details={"metric": metric, "rows": len(items), **flt.as_query()},
    )
    session.commit()
    headers = {"Content-Disposition": f'attachment; filename="kefu-{metric}-{service.as_of(utcnow())}.csv"'}
    if total > len(items):
        headers["X-Report-Truncated"] = "true"
    return Response(csv_text(metric, items), media_type="text/csv; charset=utf-8", headers=headers)
