"""The closed loop: a rating at or below KEFU_FOLLOW_UP_RATING opens a follow-up ticket, once per rating,
in the rating's own transaction (docs/reports.md "Follow-ups")."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.feedback.loop_models import FollowUp
from crm_bridge.feedback.models import Feedback
from crm_bridge.tickets import crm as ticket_crm
from crm_bridge.tickets import service as tickets
from crm_bridge.tickets.models import Priority, Ticket
from kefu_core.settings import get_settings


def threshold() -> int:
    """The highest rating that is followed up; 0 means follow-ups are off."""
    return get_settings().follow_up_rating


def needs_follow_up(rating: int) -> bool:
    """True when a rating this low opens a ticket."""
    limit = threshold()
    return limit > 0 and rating <= limit


def _description(feedback: Feedback) -> str:
    lines = [f"The customer rated the conversation {feedback.rating}/5."]
    if feedback.nps is not None:
        lines.append(f"Likelihood to recommend: {feedback.nps}/10.")
    if feedback.comment:
        lines += ["", "Their comment:", feedback.comment]
    if feedback.conversation_id:
        lines += ["", f"Conversation: {feedback.conversation_id}"]
    return "\n".join(lines)


def open_if_low(session: Session, feedback: Feedback) -> Ticket | None:
    """Open the follow-up ticket for a low rating (the caller commits with the rating); None when the
    rating is above the threshold, follow-ups are off, or this rating already has one."""
    if not needs_follow_up(feedback.rating):
        return None
    if session.scalars(select(FollowUp.id).where(FollowUp.feedback_id == feedback.id)).first() is not None:
        return None
    # High priority: an unhappy customer waits on the high SLA (KEFU_SLA_POLICY), not the normal one.
    # The idempotency key and FollowUp's unique feedback_id both make a second ticket impossible.
    ticket, replayed = tickets.create(
        session,
        data={
            "subject": f"Follow-up: customer rated {feedback.rating}/5",
            "description": _description(feedback),
            "priority": Priority.high.value,
            "contact_id": feedback.contact_id,
            "conversation_id": feedback.conversation_id,
        },
        idempotency_key=f"feedback-follow-up:{feedback.id}",
    )
    if replayed:
        return None
    session.add(FollowUp(feedback_id=feedback.id, ticket_id=ticket.id))
    session.flush()
    ticket_crm.ticket_changed(session, ticket, created=True)
    return ticket
