"""A ticket as external CRMs see it, and the write-through of its changes (crm_bridge.sync)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from crm_bridge import sync
from crm_bridge.connectors.base import TicketPayload
from crm_bridge.contacts.crm import contact_payload
from crm_bridge.contacts.models import Contact
from crm_bridge.outbox.models import Operation
from crm_bridge.tickets.models import Ticket


def ticket_payload(ticket: Ticket) -> TicketPayload:
    """The payload for a kefu ticket."""
    return TicketPayload(
        number=ticket.number,
        subject=ticket.subject,
        description=ticket.description or "",
        status=ticket.status.value,
        priority=ticket.priority.value,
        contact_local_id=str(ticket.contact_id) if ticket.contact_id is not None else None,
    )


def ticket_changed(session: Session, ticket: Ticket, *, created: bool) -> None:
    """Queue the creation or update of the ticket's case (with its contact, so it can be created first)."""
    if not sync.enabled():
        return
    contact = session.get(Contact, ticket.contact_id) if ticket.contact_id else None
    if contact is not None and contact.erased_at is not None:
        return  # its case was deleted from the CRM with the contact: an update must not bring it back
    sync.queue(
        session,
        Operation.create_ticket if created else Operation.update_ticket,
        ticket_payload(ticket),
        contact=contact_payload(contact) if contact is not None else None,
    )
