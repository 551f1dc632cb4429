"""Voice of the customer: complaints and low-rating comments grouped by topic (docs/reports.md).

The words grouped are customers' own: every report built here is for admins, and no text is logged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVarTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Conversation, Message, MessageRole
from crm_bridge.escalation.models import Escalation, Reason
from crm_bridge.feedback.models import Feedback
from crm_bridge.reports import scope as report_scope
from crm_bridge.reports.buckets import all_buckets, local_trunc
from crm_bridge.reports.filters import ReportFilter
from kefu_core.language import detect_language
from kefu_core.settings import get_settings
from knowledge_base import unanswered
from knowledge_base.encoder import Encoder

LOW_RATING = 2  # ratings 1-2: the dissatisfied end of the CSAT scale (4-5 count as satisfied)
MAX_ITEMS = 2000  # newest texts of each kind embedded per report: the grouping's cost stays bounded
MAX_LINKS = 20  # conversation ids listed per group (the newest); `conversations` counts them all
TOPIC_CHARS = 300
SENTIMENTS = ("negative", "neutral", "positive", "unknown")
KINDS = ("complaint", "negative", "low_rating")

# Labels for texts that carry none (feedback comments): texts -> labels, None when not known.
Labeller = Callable[[list[str]], list[str | None]]
Ts = TypeVarTuple("Ts")  # any statement shape: scope() only adds joins and conditions


@dataclass(frozen=True)
class Said:
    """One customer text the report groups (it satisfies knowledge_base.unanswered.Groupable)."""

    text: str
    language: str
    kind: str
    conversation_id: str | None
    at: datetime
    sentiment: str | None
    current: bool  # in the period; otherwise in the one before it (for the trend)


def scope(
    stmt: Select[*Ts], session: Session, f: ReportFilter, contact_id: Any = Conversation.contact_id
) -> Select[*Ts]:
    """`stmt` (which selects from conversations) narrowed to the filter's channel, language and agent (the
    conversation's assignee) and, as every report does, tier and tag of the contact `contact_id` names."""
    conditions = report_scope.contact_conditions(session, f, contact_id)
    if f.channel:
        conditions.append(Conversation.channel == f.channel)
    if f.language:
        conditions.append(Conversation.language == f.language)
    if f.agent_id is not None:
        conditions.append(Conversation.assignee_id == f.agent_id)
    return stmt.where(*conditions) if conditions else stmt


def previous_start(f: ReportFilter) -> datetime:
    """Start of the period of the same length just before the filter's (the trend's comparison)."""
    return f.start - (f.end - f.start)


def _language(stored: str | None, fallback: str | None, text: str) -> str:
    return stored or fallback or detect_language(text)


def _complaints(session: Session, f: ReportFilter, since: datetime) -> list[tuple[int, Said]]:
    """The customer message that preceded each complaint escalation (the words that made it one)."""
    trigger = (
        select(func.max(Message.id))
        .where(
            Message.conversation_id == Escalation.conversation_id,
            Message.role == MessageRole.customer,
            Message.internal.is_(False),
            Message.created_at <= Escalation.created_at,
        )
        .correlate(Escalation)
        .scalar_subquery()
    )
    stmt = scope(
        select(Escalation.created_at, trigger.label("message_id"), Conversation.language)
        .join(Conversation, Conversation.id == Escalation.conversation_id)
        .where(Escalation.reason == Reason.complaint, Escalation.created_at >= since)
        .where(Escalation.created_at < f.end),
        session,
        f,
    )
    rows = session.execute(stmt.order_by(Escalation.created_at.desc()).limit(MAX_ITEMS)).all()
    ids = [r.message_id for r in rows if r.message_id is not None]
    messages = {m.id: m for m in session.scalars(select(Message).where(Message.id.in_(ids)))} if ids else {}
    found: list[tuple[int, Said]] = []
    for row in rows:
        message = messages.get(row.message_id)
        if message is None or not message.text.strip():
            continue
        said = Said(
            text=message.text,
            language=_language(message.language, row.language, message.text),
            kind="complaint",
            conversation_id=message.conversation_id,
            at=row.created_at,
            sentiment=message.sentiment_label,
            current=row.created_at >= f.start,
        )
        found.append((message.id, said))
    return found


def _negative(session: Session, f: ReportFilter, since: datetime) -> list[tuple[int, Said]]:
    """Customer messages the sentiment model labelled negative."""
    stmt = scope(
        select(Message, Conversation.language)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Message.role == MessageRole.customer,
            Message.internal.is_(False),
            Message.sentiment_label == "negative",
            Message.created_at >= since,
            Message.created_at < f.end,
        ),
        session,
        f,
    )
    rows = session.execute(stmt.order_by(Message.created_at.desc()).limit(MAX_ITEMS)).all()
    return [
        (
            m.id,
            Said(
                text=m.text,
                language=_language(m.language, language, m.text),
                kind="negative",
                conversation_id=m.conversation_id,
                at=m.created_at,
                sentiment=m.sentiment_label,
                current=m.created_at >= f.start,
            ),
        )
        for m, language in rows
        if m.text.strip()
    ]


def _low_ratings(session: Session, f: ReportFilter, since: datetime, labeller: Labeller | None) -> list[Said]:
    """Comments left with a rating of 1 or 2, labelled by `labeller` (they carry no stored sentiment)."""
    stmt = scope(
        select(Feedback, Conversation.language)
        .outerjoin(Conversation, Conversation.id == Feedback.conversation_id)
        .where(
            Feedback.rating <= LOW_RATING,
            Feedback.comment.is_not(None),
            Feedback.created_at >= since,
            Feedback.created_at < f.end,
        ),
        session,
        f,
        contact_id=func.coalesce(Feedback.contact_id, Conversation.contact_id),
    )
    rows = [
        (fb, language)
        for fb, language in session.execute(stmt.order_by(Feedback.created_at.desc()).limit(MAX_ITEMS))
        if (fb.comment or "").strip()
    ]
    texts = [str(fb.comment) for fb, _ in rows]
    labels = labeller(texts) if labeller and texts else [None] * len(texts)
    return [
        Said(
            text=text,
            language=_language(None, language, text),
            kind="low_rating",
            conversation_id=fb.conversation_id,
            at=fb.created_at,
            sentiment=label,
            current=fb.created_at >= f.start,
        )
        for (fb, language), text, label in zip(rows, texts, labels, strict=True)
    ]


def collect(session: Session, f: ReportFilter, labeller: Labeller | None = None) -> tuple[list[Said], bool]:
    """Every text of the period and the one before it, newest first (the period's first), and whether a
    kind was cut at MAX_ITEMS. A complaint's message that is also negative counts once, as a complaint."""
    since = previous_start(f)
    complaints = _complaints(session, f, since)
    negative = _negative(session, f, since)
    low = _low_ratings(session, f, since, labeller)
    taken = {message_id for message_id, _ in complaints}
    items = [s for _, s in complaints] + [s for i, s in negative if i not in taken] + low
    truncated = any(len(kind) >= MAX_ITEMS for kind in (complaints, negative, low))
    items.sort(key=lambda s: (not s.current, -s.at.timestamp()))
    return items, truncated


def _weekly(members: Sequence[Said], f: ReportFilter) -> list[dict[str, Any]]:
    """Counts per local calendar week (Monday, KEFU_TIMEZONE), as the report's weekly timeseries buckets."""
    zone = ZoneInfo(get_settings().timezone)
    counts = Counter(local_trunc(s.at, "week", zone) for s in members if s.current)
    return [
        {"t": week.isoformat(), "count": counts.get(week.replace(tzinfo=None), 0)}
        for week in all_buckets(f, "week")
    ]


def _summary(group: Mapping[str, Any], f: ReportFilter) -> dict[str, Any] | None:
    members: list[Said] = group["items"]
    current = [s for s in members if s.current]
    if not current:  # a topic only of the previous period is not in this one's report
        return None
    previous = len(members) - len(current)
    sentiment = Counter(s.sentiment if s.sentiment in SENTIMENTS else "unknown" for s in current)
    kinds = Counter(s.kind for s in current)
    links = list(dict.fromkeys(s.conversation_id for s in current if s.conversation_id))
    return {
        "topic": str(group["representative"])[:TOPIC_CHARS],
        "language": group["language"],
        "count": len(current),
        "kinds": {k: kinds.get(k, 0) for k in KINDS},
        "sentiment": {k: sentiment.get(k, 0) for k in SENTIMENTS},
        "trend": {"previous": previous, "change": len(current) - previous, "weekly": _weekly(current, f)},
        "conversations": len(links),
        "conversation_ids": links[:MAX_LINKS],
    }


def report(
    session: Session,
    f: ReportFilter,
    embedder: Encoder,
    encoders: Mapping[str, Encoder] | None = None,
    labeller: Labeller | None = None,
) -> dict[str, Any]:
    """Complaints, negative messages and low-rating comments of the period grouped by topic with the
    unanswered inbox's similarity grouping, each group with count, kinds, sentiment, trend and links."""
    items, truncated = collect(session, f, labeller)
    grouped = unanswered.group(items, embedder, encoders)
    groups = [g for g in (_summary(group, f) for group in grouped) if g is not None]
    groups.sort(key=lambda g: (-g["count"], -g["trend"]["change"]))
    current = [s for s in items if s.current]
    kinds = Counter(s.kind for s in current)
    return {
        "period": {"from": f.start.isoformat(), "to": f.end.isoformat()},
        "previous_period": {"from": previous_start(f).isoformat(), "to": f.start.isoformat()},
        "total": len(current),
        "previous_total": len(items) - len(current),
        "kinds": {k: kinds.get(k, 0) for k in KINDS},
        "groups": groups,
        "truncated": truncated,
    }
