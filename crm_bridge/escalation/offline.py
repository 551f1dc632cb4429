"""When no agent can take a chat: a ticket with the transcript, and when the customer can expect a reply."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact, Tier
from crm_bridge.conversations.models import Conversation
from crm_bridge.escalation.models import Reason
from crm_bridge.tickets import service as tickets
from crm_bridge.tickets.models import Priority, Ticket, TicketStatus
from kefu_core.hours import BusinessHours
from kefu_core.settings import get_settings

TRANSCRIPT_LIMIT = 200


def business_hours() -> BusinessHours:
    """The configured opening hours."""
    settings = get_settings()
    return BusinessHours.parse(settings.business_hours, settings.timezone)


def transcript_text(conversation: Conversation) -> str:
    """The conversation as plain lines for a ticket (internal notes left out)."""
    lines = [
        f"[{m.created_at:%Y-%m-%d %H:%M:%S} UTC] {m.role.value}: {m.text}"
        for m in conversation.messages[-TRANSCRIPT_LIMIT:]
        if not m.internal
    ]
    return "\n".join(lines)


def open_ticket(session: Session, conversation: Conversation) -> Ticket | None:
    """The newest ticket from this conversation that is still new, open or pending."""
    stmt = select(Ticket).where(
        Ticket.conversation_id == conversation.id,
        Ticket.status.in_([TicketStatus.new, TicketStatus.open, TicketStatus.pending]),
    )
    return session.scalars(stmt.order_by(Ticket.id.desc())).first()


def reply_by(now: datetime) -> datetime:
    """When an offline customer can expect an answer: the next opening plus KEFU_OFFLINE_REPLY_MINUTES."""
    return business_hours().next_open(now) + timedelta(minutes=get_settings().offline_reply_minutes)


def ticket_for(session: Session, conversation: Conversation, contact: Contact, reason: Reason) -> Ticket:
    """The conversation's open ticket, else a new one with the transcript (high priority for VIPs)."""
    ticket = open_ticket(session, conversation)  # asking twice does not make two tickets
    if ticket is not None:
        return ticket
    session.refresh(conversation, ["messages"])
    ticket, _ = tickets.create(
        session,
        data={
            "subject": f"Chat escalation ({reason.value}): no agent available",
            "description": transcript_text(conversation),
            "priority": (Priority.high if contact.tier is Tier.vip else Priority.normal).value,
            "contact_id": contact.id,
            "conversation_id": conversation.id,
        },
    )
    return ticket
