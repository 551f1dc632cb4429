"""Satisfaction: exact share of 4-5 ratings, score on the 100-point scale, response rate over survey
offers, NPS, the follow-ups of low ratings and their speed, filters, series and drill-down; on SQLite and
PostgreSQL."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact, Tier
from crm_bridge.conversations.models import Conversation
from crm_bridge.feedback import follow_up
from crm_bridge.feedback.loop_models import OfferedVia, SurveyOffer
from crm_bridge.feedback.models import Feedback
from crm_bridge.reports import csat, metrics
from crm_bridge.reports.filters import ReportFilter
from crm_bridge.users.models import Role, User
from kefu_core.targets import ServiceTargets
from tests.helpers import kefu_env

M = timedelta(minutes=1)


_DAYS = itertools.count()  # csat histories live in 1975-1994, the SLA tests' in 1995 onwards


def _history(session: Session) -> tuple[ReportFilter, dict[str, Conversation], str, int]:
    """Six ratings (5, 5, 4, 3, 2, 1), eight conversations offered a survey, two low ratings followed up."""
    # A day of its own: histories share the run's database (random months collided: 12 ratings, not 6).
    base = datetime(1975, 1, 5, 9, 0, tzinfo=UTC) + timedelta(days=3 * next(_DAYS))
    tag = f"t-{uuid.uuid4().hex[:10]}"
    agent = User(username=f"csat-{uuid.uuid4().hex[:8]}", password_hash="x", role=Role.agent)
    vip = Contact(name="V", tier=Tier.vip, tags=[tag])
    plain = Contact(name="P", tier=Tier.standard, tags=[])
    session.add_all([agent, vip, plain])
    session.flush()
    convs: dict[str, Conversation] = {}
    for i in range(1, 9):
        contact = vip if i in (1, 6) else plain
        c = Conversation(
            contact_id=contact.id,
            channel="telegram" if i <= 2 else "web",
            language="zh" if i == 1 else "en",
            started_at=base,
            assignee_id=agent.id if i in (1, 2) else None,
        )
        session.add(c)
        session.flush()
        convs[f"c{i}"] = c
    offers = ["c1", "c1", "c2", "c3", "c4", "c7", "c8"]  # c1 asked twice; c5, c6 rated without an offer
    for i, name in enumerate(offers):
        session.add(SurveyOffer(conversation_id=convs[name].id, via=OfferedVia.bot, offered_at=base + i * M))
    ratings = {"c1": (5, 10), "c2": (5, 9), "c3": (4, 7), "c4": (3, None), "c5": (2, 3), "c6": (1, None)}
    with kefu_env(KEFU_FOLLOW_UP_RATING="2"):
        for i, (name, (rating, nps)) in enumerate(ratings.items()):
            c = convs[name]
            f = Feedback(
                rating=rating,
                nps=nps,
                conversation_id=c.id,
                contact_id=c.contact_id,
                agent_id=c.assignee_id,
                created_at=base + timedelta(hours=1) + i * M,
            )
            session.add(f)
            session.flush()
            ticket = follow_up.open_if_low(session, f)
            assert (ticket is not None) == (rating <= 2)
            if ticket is not None:  # answered 10 and 30 minutes after the rating; c5's resolved in 2 h
                answered = {2: 10, 1: 30}[rating]
                ticket.first_responded_at = f.created_at + answered * M
                ticket.resolved_at = f.created_at + 120 * M if rating == 2 else None
    # A rating the day before the period: not counted.
    session.add(Feedback(rating=1, conversation_id=convs["c8"].id, created_at=base - timedelta(days=1)))
    session.commit()
    return ReportFilter(start=base, end=base + timedelta(days=1)), convs, tag, agent.id


def test_every_figure(session: Session) -> None:
    flt, _, _, _ = _history(session)
    with kefu_env(KEFU_FOLLOW_UP_RATING="2"):
        out = csat.compute(session, flt, ServiceTargets())
    mean = (5 + 5 + 4 + 3 + 2 + 1) / 6
    assert out == {
        "percent_satisfied": 0.5,
        "score_100": round((mean - 1) / 4 * 100, 3),  # 58.333
        "response_rate": round(4 / 6, 6),  # c1-c4 of the six offered conversations answered
        "nps": 25.0,  # promoters 10, 9; detractor 3; passive 7
        "target": 85,
        "met": False,
        "percent_satisfied_target": None,
        "ratings": 6,
        "distribution": {"1": 1, "2": 1, "3": 1, "4": 1, "5": 2},
        "surveys_offered": 6,
        "surveys_answered": 4,
        "nps_responses": 4,
        "follow_up": {
            "enabled": True,
            "threshold": 2,
            "low_ratings": 2,
            "followed_up": 2,
            "rate": 1.0,
            "first_responded": 2,
            "resolved": 1,
            "median_first_response_s": 1200.0,  # 10 and 30 minutes
            "median_resolution_s": 7200.0,
        },
    }
    assert csat.compute(session, flt, ServiceTargets(csat_score_100=55))["met"] is True


def test_score_scale() -> None:
    assert [csat.score_100(r) for r in (1, 2, 3, 4, 5)] == [0, 25, 50, 75, 100]
    assert round(csat.score_100(4.4), 6) == 85  # the seeds' 85/100 is a mean rating of 4.4


def test_filters(session: Session) -> None:
    flt, _, tag, agent_id = _history(session)

    def figures(**changes: object) -> tuple[int, float | None, float | None, int]:
        out = csat.compute(session, replace(flt, **changes), ServiceTargets())  # type: ignore[arg-type]
        return out["ratings"], out["percent_satisfied"], out["response_rate"], out["follow_up"]["low_ratings"]

    assert figures(channel="telegram") == (2, 1.0, 1.0, 0)  # c1, c2: both offered and rated
    assert figures(channel="web") == (4, 0.25, 0.5, 2)  # offered c3, c4, c7, c8: two answered
    assert figures(language="zh") == (1, 1.0, 1.0, 0)
    assert figures(agent_id=agent_id) == (2, 1.0, 1.0, 0)
    assert figures(tier="vip") == (2, 0.5, 1.0, 1)  # c1 (5) and c6 (1, not offered)
    assert figures(tag=tag) == (2, 0.5, 1.0, 1)


def test_series_and_drilldowns(session: Session) -> None:
    flt, convs, _, _ = _history(session)
    with kefu_env(KEFU_TIMEZONE="UTC"):
        score = metrics.get("csat_score").series(session, flt, "hour")
        satisfied = metrics.get("csat_percent_satisfied").series(session, flt, "hour")
        response = metrics.get("csat_response_rate").series(session, flt, "hour")
        rated, rated_total = metrics.get("csat_score").drilldown(session, flt, 0, 3)
        offered, offered_total = metrics.get("csat_response_rate").drilldown(session, flt, 0, 10)
    assert len(score) == 24
    assert score[1][1] == round(((20 / 6) - 1) / 4 * 100, 3) and score[0][1] is None
    assert satisfied[1][1] == 0.5
    assert response[0][1] == round(4 / 6, 6) and response[1][1] is None
    assert rated_total == 6
    assert [(i["id"], i["value"]) for i in rated] == [
        (convs["c6"].id, 1),
        (convs["c5"].id, 2),
        (convs["c4"].id, 3),
    ]
    assert offered_total == 6
    assert [i["value"] for i in offered] == [0, 0, 1, 1, 1, 1]
    assert {i["id"] for i in offered[:2]} == {convs["c7"].id, convs["c8"].id}


def test_empty_period(session: Session) -> None:
    start = datetime(1975, 6, 1, tzinfo=UTC)
    out = csat.compute(session, ReportFilter(start=start, end=start + timedelta(days=1)), ServiceTargets())
    assert (out["percent_satisfied"], out["score_100"], out["response_rate"], out["nps"], out["met"]) == (
        None,
        None,
        None,
        None,
        None,
    )
    assert out["ratings"] == 0 and out["surveys_offered"] == 0
    assert out["follow_up"]["low_ratings"] == 0 and out["follow_up"]["median_first_response_s"] is None


def test_follow_ups_off_still_count_low_ratings(session: Session) -> None:
    flt, _, _, _ = _history(session)
    with kefu_env(KEFU_FOLLOW_UP_RATING="0"):
        report = csat.compute(session, flt, ServiceTargets())["follow_up"]
    assert (report["enabled"], report["threshold"], report["low_ratings"], report["followed_up"]) == (
        False,
        2,
        2,
        2,
    )
