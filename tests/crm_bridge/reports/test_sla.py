"""SLA: exact shares of tickets meeting their first-response and resolution due times, breaches by
priority, the segment filters, series and drill-down; on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact, Tier
from crm_bridge.conversations.models import Conversation
from crm_bridge.reports import metrics, sla
from crm_bridge.reports.filters import ReportFilter
from crm_bridge.tickets.models import Priority, Ticket, format_number
from crm_bridge.tickets.service import due_times
from crm_bridge.users.models import Role, User
from kefu_core.targets import ServiceTargets
from tests.helpers import kefu_env

M = timedelta(minutes=1)


_DAYS = itertools.count()


def _history(session: Session) -> tuple[ReportFilter, dict[str, Ticket], str, int]:
    """Seven tickets with known times in a past day of their own (default KEFU_SLA_POLICY)."""
    # A day of its own: histories share the run's database (csat's follow-up tickets live in 1975-1994).
    base = datetime(1995, 1, 3, 8, 0, tzinfo=UTC) + timedelta(days=3 * next(_DAYS))
    tag = f"t-{uuid.uuid4().hex[:10]}"
    agent = User(username=f"sla-{uuid.uuid4().hex[:8]}", password_hash="x", role=Role.agent)
    vip = Contact(name="A", tier=Tier.vip, tags=[tag])
    tagged = Contact(name="B", tier=Tier.standard, tags=[tag, "other"])
    plain = Contact(name="C", tier=Tier.standard, tags=[])
    session.add_all([agent, vip, tagged, plain])
    session.flush()

    def conv(contact: Contact, channel: str, language: str) -> str:
        c = Conversation(contact_id=contact.id, channel=channel, language=language, started_at=base)
        session.add(c)
        session.flush()
        return c.id

    def ticket(
        name: str,
        priority: Priority,
        created: datetime,
        contact: Contact,
        conversation: str | None,
        responded: timedelta | None = None,
        resolved: timedelta | None = None,
        assignee: int | None = None,
    ) -> Ticket:
        first_due, resolution_due = due_times(priority, created)
        t = Ticket(
            subject=name,
            priority=priority,
            contact_id=contact.id,
            conversation_id=conversation,
            assignee_id=assignee,
            created_at=created,
            first_response_due_at=first_due,
            resolution_due_at=resolution_due,
            first_responded_at=created + responded if responded is not None else None,
            resolved_at=created + resolved if resolved is not None else None,
        )
        session.add(t)
        return t

    rest = conv(plain, "rest", "en")
    tickets = {
        # urgent: 15 min / 4 h; high: 60 min / 8 h; normal: 4 h / 24 h; low: 8 h / 72 h
        "T1": ticket(
            "T1", Priority.urgent, base, tagged, conv(tagged, "rest", "en"), 10 * M, 180 * M, agent.id
        ),
        "T2": ticket("T2", Priority.urgent, base, plain, rest, 20 * M),
        "T3": ticket("T3", Priority.high, base, plain, rest),
        "T4": ticket("T4", Priority.normal, base + 30 * M, plain, rest),
        "T5": ticket("T5", Priority.low, base, plain, None, 60 * M, 90 * M),
        "T6": ticket("T6", Priority.high, base - 60 * M, plain, rest, 5 * M),  # before the period
        "T7": ticket(
            "T7", Priority.normal, base + 10 * M, vip, conv(vip, "telegram", "zh"), 5 * M, 30 * M, agent.id
        ),
    }
    session.commit()
    return ReportFilter(start=base, end=base + timedelta(days=1)), tickets, tag, agent.id


def test_shares_breaches_and_pending_targets(session: Session) -> None:
    flt, _, _, _ = _history(session)
    # Two hours in: T4's first response and the open resolutions of T2, T3, T4 are not due yet.
    early = sla.compute(session, flt, ServiceTargets(sla_first_response=0.9), now=flt.start + 120 * M)
    assert early == {
        "tickets": 6,
        "first_response_met": 0.6,
        "resolution_met": 1.0,
        "first_response": {
            "met": 3, "breached": 2, "pending": 1, "rate": 0.6, "target": 0.9, "target_met": False,
        },
        "resolution": {
            "met": 3, "breached": 0, "pending": 3, "rate": 1.0, "target": None, "target_met": None,
        },
        "breaches_by_priority": {
            "low": {"tickets": 1, "first_response": 0, "resolution": 0},
            "normal": {"tickets": 2, "first_response": 0, "resolution": 0},
            "high": {"tickets": 1, "first_response": 1, "resolution": 0},
            "urgent": {"tickets": 2, "first_response": 1, "resolution": 0},
        },
    }  # fmt: skip
    # A month later every open target is past due: breached.
    late = sla.compute(session, flt, ServiceTargets(), now=flt.start + timedelta(days=30))
    assert (late["first_response_met"], late["resolution_met"]) == (0.5, 0.5)
    assert late["breaches_by_priority"]["normal"] == {"tickets": 2, "first_response": 1, "resolution": 1}
    assert late["breaches_by_priority"]["urgent"] == {"tickets": 2, "first_response": 1, "resolution": 1}


def test_segment_filters(session: Session) -> None:
    flt, _, tag, agent_id = _history(session)
    now = flt.start + timedelta(days=30)

    def shares(**changes: object) -> tuple[int, float | None, float | None]:
        out = sla.compute(session, replace(flt, **changes), ServiceTargets(), now=now)  # type: ignore[arg-type]
        return out["tickets"], out["first_response_met"], out["resolution_met"]

    assert shares(channel="telegram") == (1, 1.0, 1.0)
    assert shares(channel="rest") == (4, 0.25, 0.25)  # T1 met; T2, T3, T4 breached
    assert shares(language="zh") == (1, 1.0, 1.0)
    assert shares(agent_id=agent_id) == (2, 1.0, 1.0)
    assert shares(tier="vip") == (1, 1.0, 1.0)
    assert shares(tag=tag) == (2, 1.0, 1.0)
    assert shares(tag=tag, channel="telegram") == (1, 1.0, 1.0)


def test_series_and_drilldown(session: Session) -> None:
    flt, t, _, _ = _history(session)
    with kefu_env(KEFU_TIMEZONE="UTC"):
        metric = metrics.get("sla_first_response_met")
        series = metric.series(session, replace(flt, end=flt.end + timedelta(days=1)), "day")
        items, total = metric.drilldown(session, flt, 0, 10)
        resolution_items, _ = metrics.get("sla_resolution_met").drilldown(session, flt, 0, 10)
    assert [value for _, value in series] == [0.5, None, None]  # 08:00 to 08:00 two days on
    assert total == 6
    # Breaches first (newest first), then the tickets that met it.
    assert [i["id"] for i in items] == [format_number(t[n].id) for n in ("T4", "T3", "T2", "T7", "T5", "T1")]
    assert [i["value"] for i in items] == [0, 0, 0, 1, 1, 1]
    assert items[3]["channel"] == "telegram" and items[3]["priority"] == "normal"
    assert items[4]["channel"] is None  # T5 has no conversation
    assert [i["id"] for i in resolution_items][:3] == [format_number(t[n].id) for n in ("T4", "T3", "T2")]


def test_empty_period(session: Session) -> None:
    start = datetime(1975, 1, 1, tzinfo=UTC)
    out = sla.compute(session, ReportFilter(start=start, end=start + timedelta(hours=1)), ServiceTargets())
    assert out["tickets"] == 0
    assert (out["first_response_met"], out["resolution_met"]) == (None, None)
    assert out["first_response"]["target_met"] is None
    assert all(
        v == {"tickets": 0, "first_response": 0, "resolution": 0}
        for v in out["breaches_by_priority"].values()
    )


def test_through_the_report_routes(admin_client: tuple[TestClient, int], session: Session) -> None:
    api, _ = admin_client
    flt, t, tag, _ = _history(session)
    query = {"from": flt.start.isoformat(), "to": flt.end.isoformat(), "tag": tag}
    summary = api.get("/api/v1/reports/summary", params=query)
    assert summary.status_code == 200, summary.text
    assert summary.json()["kpis"]["sla"]["first_response_met"] == 1.0  # T1 and T7 (the tagged contacts)
    page = api.get("/api/v1/reports/drilldown", params={**query, "metric": "sla_first_response_met"}).json()
    assert page["total"] == 2
    assert [i["id"] for i in page["items"]] == [format_number(t["T7"].id), format_number(t["T1"].id)]
    points = api.get("/api/v1/reports/timeseries", params={**query, "metric": "sla_resolution_met"}).json()
    # The day's tickets are in its first bucket (both tagged tickets resolved in time); the next is empty.
    assert [p["value"] for p in points["points"]] == [1.0, None]
