"""SLA: the share of tickets that met their first-response and resolution due times (KEFU_SLA_POLICY),
and the breaches by priority (docs/reports.md "SLA").

A ticket belongs to the period it was created in. Each target is met (done by its due time), breached
(done late, or still not done and already past due) or pending (not done, not yet due): pending targets
are left out of the shares, as Zendesk leaves out active targets that have not breached."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from crm_bridge.conversations.models import Conversation
from crm_bridge.reports import metrics
from crm_bridge.reports import scope as segments
from crm_bridge.reports.filters import ReportFilter
from crm_bridge.tickets.models import Priority, Ticket, format_number
from kefu_core.db import utcnow
from kefu_core.settings import get_settings
from kefu_core.targets import ServiceTargets

S = TypeVar("S", bound=Select[*tuple[Any, ...]])
# target name -> (the time it was done, its due time)
TARGETS = {
    "first_response": (Ticket.first_responded_at, Ticket.first_response_due_at),
    "resolution": (Ticket.resolved_at, Ticket.resolution_due_at),
}


def scope(session: Session, stmt: S, flt: ReportFilter) -> S:
    """`stmt` (selecting from tickets) narrowed to tickets created in the period and the filter's segment:
    channel and language through the ticket's conversation (a ticket without one matches neither), agent
    as the assignee, tier and tag through the ticket's contact."""
    return segments.record_scope(
        session,
        stmt,
        flt,
        at=Ticket.created_at,
        conversation_id=Ticket.conversation_id,
        agent_id=Ticket.assignee_id,
        contact_id=Ticket.contact_id,
    )


def met_condition(target: str) -> ColumnElement[bool]:
    """The target was done by its due time."""
    done, due = TARGETS[target]
    return and_(done.is_not(None), done <= due)


def breached_condition(target: str, now: datetime) -> ColumnElement[bool]:
    """The target was done late, or is still not done and already past due."""
    done, due = TARGETS[target]
    return or_(and_(done.is_not(None), done > due), and_(done.is_(None), due < now))


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _share(met: int, breached: int) -> float | None:
    return round(met / (met + breached), 6) if met + breached else None


def compute(
    session: Session, flt: ReportFilter, targets: ServiceTargets, *, now: datetime | None = None
) -> dict[str, Any]:
    """{"first_response_met", "resolution_met", "tickets", "first_response": {...}, "resolution": {...},
    "breaches_by_priority"}; shares are None when no ticket of the period has a decided target."""
    now = now or utcnow()
    columns = [Ticket.priority, func.count()]
    for target in TARGETS:
        columns += [_count(met_condition(target)), _count(breached_condition(target, now))]
    rows = session.execute(scope(session, select(*columns), flt).group_by(Ticket.priority)).all()
    by_priority = {p.value: {"tickets": 0, "first_response": 0, "resolution": 0} for p in Priority}
    totals = {target: {"met": 0, "breached": 0} for target in TARGETS}
    tickets = 0
    for row in rows:
        priority, count, fr_met, fr_breached, res_met, res_breached = tuple(row)
        key = Priority(priority).value
        by_priority[key] = {
            "tickets": int(count),
            "first_response": int(fr_breached),
            "resolution": int(res_breached),
        }
        tickets += int(count)
        totals["first_response"]["met"] += int(fr_met)
        totals["first_response"]["breached"] += int(fr_breached)
        totals["resolution"]["met"] += int(res_met)
        totals["resolution"]["breached"] += int(res_breached)
    wanted = {"first_response": targets.sla_first_response, "resolution": targets.sla_resolution}
    out: dict[str, Any] = {"tickets": tickets}
    for target, counts in totals.items():
        share, goal = _share(counts["met"], counts["breached"]), wanted[target]
        out[f"{target}_met"] = share
        out[target] = {
            **counts,
            "pending": tickets - counts["met"] - counts["breached"],
            "rate": share,
            "target": goal,
            "target_met": None if share is None or goal is None else share >= goal,
        }
    out["breaches_by_priority"] = by_priority
    return out


def _metric(target: str) -> metrics.Metric:
    def value(session: Session, flt: ReportFilter) -> float | None:
        share: float | None = compute(session, flt, get_settings().targets)[f"{target}_met"]
        return share

    def series(session: Session, flt: ReportFilter, interval: str) -> list[tuple[datetime, float | None]]:
        now = utcnow()
        key = metrics.bucket(session, Ticket.created_at, interval)
        stmt = select(key, _count(met_condition(target)), _count(breached_condition(target, now)))
        rows = session.execute(scope(session, stmt, flt).group_by(key)).all()
        return metrics.fill(flt, interval, {metrics.start_of(k): _share(int(m), int(b)) for k, m, b in rows})

    def drilldown(
        session: Session, flt: ReportFilter, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """The decided tickets behind the share (value 1 met, 0 breached), breaches first, newest first."""
        now = utcnow()
        met, breached = met_condition(target), breached_condition(target, now)
        decided = scope(session, select(Ticket.id), flt).where(or_(met, breached))
        total = int(session.scalar(select(func.count()).select_from(decided.subquery())) or 0)
        done, due = TARGETS[target]
        stmt = scope(session, select(Ticket, Conversation.channel, met), flt)
        if not (flt.channel or flt.language):
            stmt = stmt.outerjoin(Conversation, Conversation.id == Ticket.conversation_id)
        rows = session.execute(
            stmt.where(or_(met, breached))
            .order_by(case((met, 1), else_=0), Ticket.created_at.desc(), Ticket.id.desc())
            .offset(offset)
            .limit(limit)
        ).all()
        items = [
            {
                "id": format_number(t.id),
                "kind": "ticket",
                "created_at": t.created_at.isoformat(),
                "channel": channel,
                "contact_id": t.contact_id,
                "priority": t.priority.value,
                "due_at": getattr(t, due.key).isoformat(),
                "done_at": d.isoformat() if (d := getattr(t, done.key)) else None,
                "value": 1 if was_met else 0,
            }
            for t, channel, was_met in rows
        ]
        return items, total

    label = {"first_response": "SLA: first response met", "resolution": "SLA: resolution met"}[target]
    return metrics.Metric(
        name=f"sla_{target}_met",
        label=label,
        unit="ratio",
        kind="ticket",
        value=value,
        series=series,
        drilldown=drilldown,
    )


for _target in TARGETS:
    metrics.register(_metric(_target))
