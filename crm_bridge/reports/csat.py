"""Satisfaction: share of 4-5 ratings, the mean on a 100-point scale, the response rate, NPS, and how
low ratings were followed up (docs/reports.md "Satisfaction" and "Follow-ups")."""

from __future__ import annotations

from datetime import datetime
from statistics import median
from typing import Any, TypeVar

from sqlalchemy import Select, Subquery, case, exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from crm_bridge.conversations.models import Conversation
from crm_bridge.feedback import follow_up
from crm_bridge.feedback.loop_models import FollowUp, SurveyOffer
from crm_bridge.feedback.models import Feedback
from crm_bridge.reports import metrics
from crm_bridge.reports import scope as segments
from crm_bridge.reports.filters import ReportFilter
from crm_bridge.tickets.models import Ticket
from kefu_core.settings import get_settings
from kefu_core.targets import ServiceTargets

S = TypeVar("S", bound=Select[*tuple[Any, ...]])
SATISFIED = 4  # 4 and 5 count as satisfied (Chatwoot, Intercom)
LOW_WHEN_OFF = 2  # what "low" means in the report while follow-ups are off (KEFU_FOLLOW_UP_RATING=0)


def score_100(mean_rating: float) -> float:
    """A mean 1-5 rating on the 100-point scale: (r - 1) / 4 * 100, so 1 is 0 and 5 is 100."""
    return (mean_rating - 1) / 4 * 100


def rating_scope(session: Session, stmt: S, flt: ReportFilter) -> S:
    """`stmt` (selecting from feedback) narrowed to ratings given in the period and the segment: channel
    and language through the rated conversation, agent as the rating's agent, tier and tag through the
    rating's contact."""
    return segments.record_scope(
        session,
        stmt,
        flt,
        at=Feedback.created_at,
        conversation_id=Feedback.conversation_id,
        agent_id=Feedback.agent_id,
        contact_id=Feedback.contact_id,
    )


def offer_scope(session: Session, stmt: S, flt: ReportFilter) -> S:
    """`stmt` (selecting from survey_offers) narrowed to offers made in the period and the segment, all
    through the offered conversation (agent: its assignee)."""
    stmt = stmt.join(Conversation, Conversation.id == SurveyOffer.conversation_id).where(
        SurveyOffer.offered_at >= flt.start, SurveyOffer.offered_at < flt.end
    )
    if flt.channel:
        stmt = stmt.where(Conversation.channel == flt.channel)
    if flt.language:
        stmt = stmt.where(Conversation.language == flt.language)
    if flt.agent_id is not None:
        stmt = stmt.where(Conversation.assignee_id == flt.agent_id)
    return stmt.where(*segments.contact_conditions(session, flt, Conversation.contact_id))


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 6) if whole else None


def _sum(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def offered_conversations(session: Session, flt: ReportFilter) -> Subquery:
    """The conversations offered a survey in the period: (conversation_id, offered_at = the first offer)."""
    stmt = offer_scope(
        session,
        select(SurveyOffer.conversation_id, func.min(SurveyOffer.offered_at).label("offered_at")),
        flt,
    )
    return stmt.group_by(SurveyOffer.conversation_id).subquery()


def answered(offered: Subquery) -> ColumnElement[bool]:
    """The offered conversation got a rating at or after the offer (an earlier rating answered another)."""
    return exists().where(
        Feedback.conversation_id == offered.c.conversation_id, Feedback.created_at >= offered.c.offered_at
    )


def response_counts(session: Session, flt: ReportFilter) -> tuple[int, int]:
    """(conversations offered a survey in the period, how many of them answered it)."""
    offered = offered_conversations(session, flt)
    row = session.execute(select(func.count(), _sum(answered(offered))).select_from(offered)).one()
    return int(row[0]), int(row[1])


def low_threshold() -> int:
    """Ratings at or below this are "low" in the report."""
    return follow_up.threshold() or LOW_WHEN_OFF


def follow_ups(session: Session, flt: ReportFilter) -> dict[str, Any]:
    """How many low ratings of the period opened a follow-up ticket, and how fast those tickets were
    answered and resolved, timed from the rating."""
    low = low_threshold()
    stmt = rating_scope(
        session,
        select(Feedback.created_at, Ticket.first_responded_at, Ticket.resolved_at, FollowUp.id)
        .outerjoin(FollowUp, FollowUp.feedback_id == Feedback.id)
        .outerjoin(Ticket, Ticket.id == FollowUp.ticket_id),
        flt,
    ).where(Feedback.rating <= low)
    rows = session.execute(stmt).all()
    followed = [r for r in rows if r[3] is not None]
    responded = [(r[1] - r[0]).total_seconds() for r in followed if r[1] is not None]
    resolved = [(r[2] - r[0]).total_seconds() for r in followed if r[2] is not None]
    return {
        "enabled": follow_up.threshold() > 0,
        "threshold": low,
        "low_ratings": len(rows),
        "followed_up": len(followed),
        "rate": _ratio(len(followed), len(rows)),
        "first_responded": len(responded),
        "resolved": len(resolved),
        "median_first_response_s": round(median(responded), 3) if responded else None,
        "median_resolution_s": round(median(resolved), 3) if resolved else None,
    }


def compute(session: Session, flt: ReportFilter, targets: ServiceTargets) -> dict[str, Any]:
    """{"percent_satisfied", "score_100", "response_rate", "nps", "target", "met", "ratings",
    "distribution", "surveys_offered", "surveys_answered", "nps_responses", "follow_up"}."""
    by_rating = dict(
        session.execute(
            rating_scope(session, select(Feedback.rating, func.count()), flt).group_by(Feedback.rating)
        ).all()
    )
    distribution = {str(r): int(by_rating.get(r, 0)) for r in range(1, 6)}
    ratings = sum(distribution.values())
    total = sum(r * n for r, n in ((int(k), v) for k, v in distribution.items()))
    satisfied = sum(n for k, n in distribution.items() if int(k) >= SATISFIED)
    score = round(score_100(total / ratings), 3) if ratings else None
    nps_row = session.execute(
        rating_scope(
            session,
            select(func.count(), _sum(Feedback.nps >= 9), _sum(Feedback.nps <= 6)).where(
                Feedback.nps.is_not(None)
            ),
            flt,
        )
    ).one()
    nps_n = int(nps_row[0])
    offered, answered = response_counts(session, flt)
    target = targets.csat_score_100
    return {
        "percent_satisfied": _ratio(satisfied, ratings),
        "score_100": score,
        "response_rate": _ratio(answered, offered),
        "nps": round(100 * (int(nps_row[1]) - int(nps_row[2])) / nps_n, 1) if nps_n else None,
        "target": target,
        "met": None if score is None or target is None else score >= target,
        "percent_satisfied_target": targets.csat_percent_satisfied,
        "ratings": ratings,
        "distribution": distribution,
        "surveys_offered": offered,
        "surveys_answered": answered,
        "nps_responses": nps_n,
        "follow_up": follow_ups(session, flt),
    }


def _value(key: str) -> metrics.ValueFn:
    def value(session: Session, flt: ReportFilter) -> float | None:
        figure: float | None = compute(session, flt, get_settings().targets)[key]
        return figure

    return value


def _rating_series(figure: str) -> metrics.SeriesFn:
    def series(session: Session, flt: ReportFilter, interval: str) -> list[tuple[datetime, float | None]]:
        key = metrics.bucket(session, Feedback.created_at, interval)
        stmt = select(key, func.count(), func.sum(Feedback.rating), _sum(Feedback.rating >= SATISFIED))
        rows = session.execute(rating_scope(session, stmt, flt).group_by(key)).all()
        values: dict[datetime, float | None] = {}
        for k, n, total, satisfied in rows:
            mean = int(total) / int(n)
            values[metrics.start_of(k)] = (
                round(score_100(mean), 3) if figure == "score_100" else _ratio(int(satisfied), int(n))
            )
        return metrics.fill(flt, interval, values)

    return series


def _ratings_drilldown(
    session: Session, flt: ReportFilter, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """The ratings behind the figure (value: the rating), lowest first, newest first."""
    total = int(session.scalar(rating_scope(session, select(func.count()).select_from(Feedback), flt)) or 0)
    stmt = rating_scope(session, select(Feedback, Conversation.channel), flt)
    if not (flt.channel or flt.language):
        stmt = stmt.outerjoin(Conversation, Conversation.id == Feedback.conversation_id)
    rows = session.execute(
        stmt.order_by(Feedback.rating, Feedback.created_at.desc(), Feedback.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    items = [
        {
            "id": f.conversation_id or f"feedback-{f.id}",
            "kind": "conversation",
            "conversation_id": f.conversation_id,
            "feedback_id": f.id,
            "created_at": f.created_at.isoformat(),
            "channel": channel,
            "contact_id": f.contact_id,
            "value": f.rating,
        }
        for f, channel in rows
    ]
    return items, total


def _response_series(
    session: Session, flt: ReportFilter, interval: str
) -> list[tuple[datetime, float | None]]:
    offered = offered_conversations(session, flt)
    key = metrics.bucket(session, offered.c.offered_at, interval)
    rows = session.execute(select(key, func.count(), _sum(answered(offered))).group_by(key)).all()
    return metrics.fill(flt, interval, {metrics.start_of(b): _ratio(int(a), int(n)) for b, n, a in rows})


def _response_drilldown(
    session: Session, flt: ReportFilter, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """The conversations offered a survey (value 1 answered, 0 not), unanswered first, newest offer first."""
    offered = offered_conversations(session, flt)
    total = int(session.scalar(select(func.count()).select_from(offered)) or 0)
    rated = case((answered(offered), 1), else_=0)
    rows = session.execute(
        select(Conversation, offered.c.offered_at, rated)
        .join(offered, offered.c.conversation_id == Conversation.id)
        .order_by(rated, offered.c.offered_at.desc(), Conversation.id)
        .offset(offset)
        .limit(limit)
    ).all()
    items = [
        {
            "id": c.id,
            "kind": "conversation",
            "started_at": c.started_at.isoformat(),
            "offered_at": metrics_time(offered_at),
            "channel": c.channel,
            "contact_id": c.contact_id,
            "value": int(was_rated),
        }
        for c, offered_at, was_rated in rows
    ]
    return items, total


def metrics_time(value: Any) -> str:
    """An instant read back from a subquery (SQLite returns text there) as ISO 8601."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


for _name, _label, _unit, _key in (
    ("csat_score", "Satisfaction score (0-100)", "score", "score_100"),
    ("csat_percent_satisfied", "Satisfied (share of 4-5 ratings)", "ratio", "percent_satisfied"),
):
    metrics.register(
        metrics.Metric(
            name=_name,
            label=_label,
            unit=_unit,  # type: ignore[arg-type]
            kind="conversation",
            value=_value(_key),
            series=_rating_series(_key),
            drilldown=_ratings_drilldown,
        )
    )
metrics.register(
    metrics.Metric(
        name="csat_response_rate",
        label="Survey response rate",
        unit="ratio",
        kind="conversation",
        value=_value("response_rate"),
        series=_response_series,
        drilldown=_response_drilldown,
    )
)
