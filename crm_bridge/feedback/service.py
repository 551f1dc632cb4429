"""Feedback database work (no HTTP)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact
from crm_bridge.conversations.models import Conversation
from crm_bridge.feedback import follow_up
from crm_bridge.feedback.models import Feedback
from crm_bridge.tickets.models import Ticket, format_number, parse_number
from crm_bridge.users.models import User
from kefu_core.errors import Invalid


@dataclass(frozen=True)
class FeedbackFilters:
    """List and summary filters."""

    created_from: datetime | None = None
    created_to: datetime | None = None
    agent_id: int | None = None
    contact_id: int | None = None


def create(session: Session, *, data: dict[str, Any]) -> Feedback:
    """Store a rating (a low one opens its follow-up ticket in the same transaction); linked records must
    exist. The contact comes from the conversation if not given."""
    ticket_id = None
    if data.get("ticket_number"):
        ticket_id = parse_number(data["ticket_number"])
        if ticket_id is None or session.get(Ticket, ticket_id) is None:
            raise Invalid(f"ticket {data['ticket_number']} does not exist")
    contact_id = data.get("contact_id")
    for key, model in (("conversation_id", Conversation), ("contact_id", Contact), ("agent_id", User)):
        if data.get(key) is not None and session.get(model, data[key]) is None:
            raise Invalid(f"{key.removesuffix('_id')} {data[key]} does not exist")
    if contact_id is None and data.get("conversation_id"):
        conversation = session.get(Conversation, data["conversation_id"])
        contact_id = conversation.contact_id if conversation else None
    feedback = Feedback(
        rating=data["rating"],
        nps=data.get("nps"),
        comment=data.get("comment"),
        conversation_id=data.get("conversation_id"),
        ticket_id=ticket_id,
        contact_id=contact_id,
        agent_id=data.get("agent_id"),
    )
    session.add(feedback)
    session.flush()
    follow_up.open_if_low(session, feedback)
    return feedback


def query(filters: FeedbackFilters) -> Select[Any]:
    """SELECT of feedback in the filters, newest first."""
    stmt = select(Feedback).order_by(Feedback.id.desc())
    if filters.created_from:
        stmt = stmt.where(Feedback.created_at >= filters.created_from)
    if filters.created_to:
        stmt = stmt.where(Feedback.created_at < filters.created_to)
    if filters.agent_id is not None:
        stmt = stmt.where(Feedback.agent_id == filters.agent_id)
    if filters.contact_id is not None:
        stmt = stmt.where(Feedback.contact_id == filters.contact_id)
    return stmt


def summary(session: Session, filters: FeedbackFilters) -> dict[str, Any]:
    """Average CSAT, share of 4-5 ratings and NPS over the filtered feedback."""
    sub = query(filters).order_by(None).subquery()
    rows = session.execute(select(sub.c.rating, sub.c.nps)).all()
    ratings = [r for r, _ in rows]
    scores = [n for _, n in rows if n is not None]
    nps = None
    if scores:
        promoters = sum(1 for n in scores if n >= 9)
        detractors = sum(1 for n in scores if n <= 6)
        nps = round(100 * (promoters - detractors) / len(scores), 1)
    return {
        "count": len(ratings),
        "csat_average": round(sum(ratings) / len(ratings), 2) if ratings else None,
        "csat_satisfied_share": round(sum(1 for r in ratings if r >= 4) / len(ratings), 4)
        if ratings
        else None,
        "nps": nps,
        "nps_responses": len(scores),
    }


def to_read(feedback: Feedback) -> dict[str, Any]:
    """API view."""
    return {
        "id": feedback.id,
        "rating": feedback.rating,
        "nps": feedback.nps,
        "comment": feedback.comment,
        "conversation_id": feedback.conversation_id,
        "ticket_number": format_number(feedback.ticket_id) if feedback.ticket_id else None,
        "contact_id": feedback.contact_id,
        "agent_id": feedback.agent_id,
        "created_at": feedback.created_at,
    }


def move_to_contact(session: Session, *, source_id: int, target_id: int) -> None:
    """Give every rating of contact `source_id` to contact `target_id` (a contact merge)."""
    session.execute(update(Feedback).where(Feedback.contact_id == source_id).values(contact_id=target_id))


def export_for_contact(session: Session, contact_id: int) -> list[dict[str, Any]]:
    """The contact's ratings, JSON-ready (a data-access export)."""
    return [
        {"rating": f.rating, "nps": f.nps, "comment": f.comment, "created_at": f.created_at.isoformat()}
        for f in session.scalars(select(Feedback).where(Feedback.contact_id == contact_id))
    ]
