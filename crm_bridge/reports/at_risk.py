"""Contacts at risk of leaving: a documented rule over recent signals (docs/reports.md, "At risk").

Within the window (the report's period; the last 30 days for the handoff packet) a contact is at risk
for any of these reasons, each adding points to a score capped at 100:
- low_rating: a rating of 1 or 2 (40 points);
- negative_sentiment: at least 2 of their last 5 labelled customer messages negative (10 points each);
- reopened_ticket: a ticket of theirs went from resolved back to open (30 points);
- complaint: a conversation of theirs escalated as a complaint (20 points).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact
from crm_bridge.conversations.models import Conversation, Message, MessageRole
from crm_bridge.escalation.models import Escalation, Reason
from crm_bridge.feedback.models import Feedback
from crm_bridge.reports.filters import ReportFilter
from crm_bridge.reports.voice import LOW_RATING, scope
from crm_bridge.tickets.models import EventKind, Ticket, TicketEvent, TicketStatus

WINDOW_DAYS = 30  # the packet's look-back (the list's is its period, by default the last 30 days too)
LAST_MESSAGES = 5
MIN_NEGATIVE = 2
POINTS = {"low_rating": 40, "negative_sentiment": 10, "reopened_ticket": 30, "complaint": 20}


@dataclass
class Risk:
    """One contact's reasons and score."""

    contact_id: int
    reasons: list[dict[str, Any]] = field(default_factory=list)

    @property
    def score(self) -> int:
        """Points of every reason, capped at 100."""
        total = 0
        for reason in self.reasons:
            weight = POINTS[reason["code"]]
            total += (
                weight * int(reason.get("negative", 1)) if reason["code"] == "negative_sentiment" else weight
            )
        return min(100, total)


def _iso(value: datetime) -> str:
    return value.isoformat()


def _low_ratings(
    session: Session, f: ReportFilter, contacts: list[int] | None
) -> list[tuple[int, dict[str, Any]]]:
    who = func.coalesce(Feedback.contact_id, Conversation.contact_id)
    stmt = scope(
        select(who, Feedback.rating, Feedback.created_at, Feedback.conversation_id)
        .outerjoin(Conversation, Conversation.id == Feedback.conversation_id)
        .where(Feedback.rating <= LOW_RATING, Feedback.created_at >= f.start, Feedback.created_at < f.end),
        session,
        f,
        contact_id=who,
    )
    if contacts is not None:
        stmt = stmt.where(who.in_(contacts))
    latest: dict[int, dict[str, Any]] = {}
    for contact_id, rating, at, conversation_id in session.execute(stmt.order_by(Feedback.created_at)):
        if contact_id is not None:  # the newest low rating stands for them all
            latest[contact_id] = {
                "code": "low_rating", "rating": rating, "at": _iso(at), "conversation_id": conversation_id,
            }  # fmt: skip
    return list(latest.items())


def _negative(
    session: Session, f: ReportFilter, contacts: list[int] | None
) -> list[tuple[int, dict[str, Any]]]:
    labelled = [
        Message.role == MessageRole.customer,
        Message.internal.is_(False),
        Message.sentiment_label.is_not(None),
        Message.created_at >= f.start,
        Message.created_at < f.end,
    ]
    # Candidates first (two negatives in the window at all), so only their messages are read.
    candidates = scope(
        select(Conversation.contact_id)
        .select_from(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(*labelled, Message.sentiment_label == "negative")
        .group_by(Conversation.contact_id)
        .having(func.count() >= MIN_NEGATIVE),
        session,
        f,
    )
    if contacts is not None:
        candidates = candidates.where(Conversation.contact_id.in_(contacts))
    ids = list(session.scalars(candidates))
    if not ids:
        return []
    rows = session.execute(
        scope(
            select(Conversation.contact_id, Message.sentiment_label, Message.created_at)
            .select_from(Message)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(*labelled, Conversation.contact_id.in_(ids)),
            session,
            f,
        ).order_by(Message.created_at.desc(), Message.id.desc())
    )
    last: dict[int, list[tuple[str | None, datetime]]] = defaultdict(list)
    for contact_id, label, at in rows:
        if len(last[contact_id]) < LAST_MESSAGES:
            last[contact_id].append((label, at))
    found = []
    for contact_id, recent in last.items():
        negative = [at for label, at in recent if label == "negative"]
        if len(negative) >= MIN_NEGATIVE:
            reason = {"code": "negative_sentiment", "negative": len(negative), "of": len(recent),
                      "at": _iso(negative[0])}  # fmt: skip
            found.append((contact_id, reason))
    return found


def _reopened(
    session: Session, f: ReportFilter, contacts: list[int] | None
) -> list[tuple[int, dict[str, Any]]]:
    stmt = (
        select(Ticket.contact_id, Ticket.id, TicketEvent.created_at, TicketEvent.data)
        .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
        .outerjoin(Conversation, Conversation.id == Ticket.conversation_id)
        .where(
            Ticket.contact_id.is_not(None),
            TicketEvent.kind == EventKind.status_change,
            TicketEvent.created_at >= f.start,
            TicketEvent.created_at < f.end,
        )
    )
    stmt = scope(stmt, session, f, contact_id=Ticket.contact_id)
    if contacts is not None:
        stmt = stmt.where(Ticket.contact_id.in_(contacts))
    latest: dict[int, dict[str, Any]] = {}
    for contact_id, ticket_id, at, data in session.execute(stmt.order_by(TicketEvent.created_at)):
        # The JSON `data` is read here rather than queried: the two databases compare JSON differently.
        if (data or {}).get("from") == TicketStatus.resolved and (data or {}).get("to") == TicketStatus.open:
            latest[contact_id] = {"code": "reopened_ticket", "ticket_id": ticket_id, "at": _iso(at)}
    return list(latest.items())


def _complaints(
    session: Session, f: ReportFilter, contacts: list[int] | None
) -> list[tuple[int, dict[str, Any]]]:
    stmt = scope(
        select(Conversation.contact_id, Escalation.created_at, Escalation.conversation_id)
        .join(Conversation, Conversation.id == Escalation.conversation_id)
        .where(
            Escalation.reason == Reason.complaint,
            Escalation.created_at >= f.start,
            Escalation.created_at < f.end,
        ),
        session,
        f,
    )
    if contacts is not None:
        stmt = stmt.where(Conversation.contact_id.in_(contacts))
    latest: dict[int, dict[str, Any]] = {}
    for contact_id, at, conversation_id in session.execute(stmt.order_by(Escalation.created_at)):
        latest[contact_id] = {"code": "complaint", "at": _iso(at), "conversation_id": conversation_id}
    return list(latest.items())


def assess(session: Session, f: ReportFilter, contacts: list[int] | None = None) -> dict[int, Risk]:
    """Every contact with at least one reason in the filter's period (or only those of `contacts`)."""
    risks: dict[int, Risk] = {}
    for finder in (_low_ratings, _negative, _reopened, _complaints):
        for contact_id, reason in finder(session, f, contacts):
            risks.setdefault(contact_id, Risk(contact_id)).reasons.append(reason)
    return risks


def listing(session: Session, f: ReportFilter, *, limit: int, offset: int) -> dict[str, Any]:
    """At-risk contacts, highest score first then most recently in touch: `{items, total}`."""
    risks = assess(session, f)
    if not risks:
        return {"items": [], "total": 0}
    people = {
        c.id: c
        for c in session.scalars(
            select(Contact).where(
                Contact.id.in_(list(risks)), Contact.erased_at.is_(None), Contact.merged_into_id.is_(None)
            )
        )
    }
    last_contact = dict(
        session.execute(
            select(Conversation.contact_id, func.max(Conversation.updated_at))
            .where(Conversation.contact_id.in_(list(people)))
            .group_by(Conversation.contact_id)
        )
        .tuples()
        .all()
    )
    epoch = datetime.min.replace(tzinfo=UTC)
    ranked = sorted(
        (r for r in risks.values() if r.contact_id in people),
        key=lambda r: (-r.score, -(last_contact.get(r.contact_id) or epoch).timestamp(), r.contact_id),
    )
    items = []
    for risk in ranked[offset : offset + limit]:
        person, last = people[risk.contact_id], last_contact.get(risk.contact_id)
        items.append(
            {
                "contact_id": person.id,
                "name": person.name,
                "tier": person.tier.value,
                "score": risk.score,
                "reasons": sorted(risk.reasons, key=lambda r: -POINTS[r["code"]]),
                "last_contact_at": _iso(last) if last else None,
            }
        )
    return {"items": items, "total": len(ranked)}


def for_contact(session: Session, contact_id: int, now: datetime | None = None) -> dict[str, Any] | None:
    """One contact's risk over the last WINDOW_DAYS (for the handoff packet), or None when not at risk."""
    end = (now or datetime.now(UTC)) + timedelta(seconds=1)  # what was said this very second counts
    window = ReportFilter(start=end - timedelta(days=WINDOW_DAYS), end=end)
    risk = assess(session, window, [contact_id]).get(contact_id)
    if risk is None:
        return None
    return {"score": risk.score, "reasons": sorted(risk.reasons, key=lambda r: -POINTS[r["code"]])}
