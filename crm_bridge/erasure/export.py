"""The data-access export (PIPL / GDPR): everything kefu holds about a contact, as JSON-ready data.

It extends feedback.flows.export_contact (contact, identities, conversations, tickets, feedback) with what
sits in the domains above it: every message field, tickets' events, deliveries, escalations, merged-away
contacts, unanswered-inbox questions and widget sessions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from crm_bridge.channels.models import Delivery
from crm_bridge.contacts import service as contacts
from crm_bridge.contacts.models import Contact
from crm_bridge.conversations.models import Conversation
from crm_bridge.erasure.service import merged_family
from crm_bridge.escalation.models import Escalation
from crm_bridge.feedback import flows
from crm_bridge.tickets.models import Ticket, format_number
from crm_bridge.widget.models import WidgetSession
from knowledge_base.models import UnansweredQuestion


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _conversations(session: Session, contact: Contact) -> list[dict[str, Any]]:
    conversations = session.scalars(
        select(Conversation)
        .where(Conversation.contact_id == contact.id)
        .options(selectinload(Conversation.messages))
        .order_by(Conversation.started_at)
    ).all()
    ids = [c.id for c in conversations]
    deliveries = {
        d.message_id: d for d in session.scalars(select(Delivery).where(Delivery.conversation_id.in_(ids)))
    }
    escalations = session.scalars(
        select(Escalation).where(Escalation.conversation_id.in_(ids)).order_by(Escalation.id)
    ).all()

    def message(m: Any) -> dict[str, Any]:
        delivery = deliveries.get(m.id)
        return {
            "role": m.role.value,
            "text": m.text,
            "created_at": m.created_at.isoformat(),
            "id": m.id,
            "buttons": m.buttons or [],
            "channel": m.channel,
            "language": m.language,
            "internal": m.internal,
            "sentiment_label": m.sentiment_label,
            "sentiment_score": m.sentiment_score,
            "delivery": {"status": delivery.status.value, "sent_at": _iso(delivery.sent_at)}
            if delivery
            else None,
        }

    return [
        {
            "id": c.id,
            "channel": c.channel,
            "status": c.status.value,
            "started_at": c.started_at.isoformat(),
            "messages": [message(m) for m in c.messages],
            "language": c.language,
            "resolved_at": _iso(c.resolved_at),
            "escalations": [
                {
                    "reason": e.reason,
                    "note": e.note,
                    "outcome": e.outcome,
                    "created_at": e.created_at.isoformat(),
                }
                for e in escalations
                if e.conversation_id == c.id
            ],
        }
        for c in conversations
    ]


def export_contact(session: Session, contact: Contact) -> dict[str, Any]:
    """Everything kefu holds about a contact (for a data-access request); the keys of the older export
    come first, unchanged, and more fields and keys follow."""
    base = flows.export_contact(session, contact)
    tickets = {
        format_number(t.id): t
        for t in session.scalars(
            select(Ticket).where(Ticket.contact_id == contact.id).options(selectinload(Ticket.events))
        )
    }
    for exported in base["tickets"]:
        ticket = tickets.get(exported["number"])
        exported["events"] = [
            {"kind": e.kind.value, "body": e.body, "data": e.data, "created_at": e.created_at.isoformat()}
            for e in (ticket.events if ticket is not None else [])
        ]
    family = merged_family(session, contact)
    conversation_ids = [c["id"] for c in base["conversations"]]
    questions = session.scalars(
        select(UnansweredQuestion)
        .where(UnansweredQuestion.conversation_id.in_(conversation_ids))
        .order_by(UnansweredQuestion.id)
    )
    widgets = session.scalars(
        select(WidgetSession)
        .where(WidgetSession.contact_id.in_([c.id for c in family]))
        .order_by(WidgetSession.created_at)
    )
    exported_at = base.pop("exported_at")
    return {
        **base,
        "conversations": _conversations(session, contact),
        "merged_contacts": [contacts.export(session, source)["contact"] for source in family[1:]],
        "unanswered_questions": [
            {
                "conversation_id": q.conversation_id,
                "text": q.text,
                "language": q.language,
                "created_at": q.created_at.isoformat(),
                "resolution": q.resolution,
            }
            for q in questions
        ],
        "widget_sessions": [
            {"created_at": w.created_at.isoformat(), "rotated_at": _iso(w.rotated_at)} for w in widgets
        ],
        "erased_at": _iso(contact.erased_at),
        "exported_at": exported_at,
    }
