"""A rating as external CRMs see it, and its write-through (crm_bridge.sync)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from crm_bridge import sync
from crm_bridge.connectors.base import FeedbackPayload
from crm_bridge.contacts.crm import contact_payload
from crm_bridge.contacts.models import Contact
from crm_bridge.feedback.models import Feedback
from crm_bridge.outbox.models import Operation
from crm_bridge.tickets.models import format_number


def feedback_payload(feedback: Feedback) -> FeedbackPayload:
    """The payload for a kefu feedback row."""
    return FeedbackPayload(
        rating=feedback.rating,
        nps=feedback.nps,
        comment=feedback.comment,
        contact_local_id=str(feedback.contact_id) if feedback.contact_id is not None else None,
        ticket_number=format_number(feedback.ticket_id) if feedback.ticket_id is not None else None,
        local_id=str(feedback.id),
    )


def feedback_created(session: Session, feedback: Feedback) -> None:
    """Queue the rating as a note on the contact (Zoho needs a parent record, so only with a contact)."""
    if not sync.enabled() or feedback.contact_id is None:
        return
    contact = session.get(Contact, feedback.contact_id)
    if contact is None or contact.erased_at is not None:  # an erased contact is gone from the CRM
        return
    payload = feedback_payload(feedback)
    sync.queue(session, Operation.write_feedback, payload, contact=contact_payload(contact))
