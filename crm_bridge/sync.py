"""Mirror CRM writes to the external CRM (Zoho) through the durable outbox, when one is configured.

Called by views after the domain write and before the commit, so the outbox item is stored in the
same transaction as the change it describes: nothing is lost while the external CRM is down.
"""

from __future__ import annotations

import os
from functools import lru_cache

from sqlalchemy.orm import Session

from crm_bridge.connectors.sql import contact_payload, feedback_payload, ticket_payload
from crm_bridge.connectors.zoho import ZohoSettings
from crm_bridge.contacts.models import Contact
from crm_bridge.feedback.models import Feedback
from crm_bridge.outbox import service as outbox
from crm_bridge.tickets.models import Ticket

CONNECTOR = "zoho"


def enabled() -> bool:
    """True when the Zoho credentials are set."""
    return _configured(*(os.environ.get(name) for name in _ZOHO_VARS))


_ZOHO_VARS = ("KEFU_ZOHO_CLIENT_ID", "KEFU_ZOHO_CLIENT_SECRET", "KEFU_ZOHO_REFRESH_TOKEN")


@lru_cache(maxsize=8)
def _configured(*_env: str | None) -> bool:
    # Keyed on the variables so a changed environment is seen; building settings on every write is not free.
    return ZohoSettings().configured


def contact_changed(session: Session, contact: Contact) -> None:
    """Queue an upsert of the contact."""
    if enabled() and contact.erased_at is None:
        outbox.enqueue(
            session, connector=CONNECTOR, operation="upsert_contact", payload=contact_payload(contact)
        )


def ticket_changed(session: Session, ticket: Ticket, *, created: bool) -> None:
    """Queue the creation or update of the ticket's case (with its contact, so it can be created first)."""
    if not enabled():
        return
    contact = session.get(Contact, ticket.contact_id) if ticket.contact_id else None
    outbox.enqueue(
        session,
        connector=CONNECTOR,
        operation="create_ticket" if created else "update_ticket",
        payload=ticket_payload(ticket),
        contact=contact_payload(contact) if contact is not None else None,
    )


def feedback_created(session: Session, feedback: Feedback) -> None:
    """Queue the rating as a note on the contact (Zoho needs a parent record, so only with a contact)."""
    if not enabled() or feedback.contact_id is None:
        return
    contact = session.get(Contact, feedback.contact_id)
    if contact is None:
        return
    outbox.enqueue(
        session,
        connector=CONNECTOR,
        operation="write_feedback",
        payload=feedback_payload(feedback),
        contact=contact_payload(contact),
    )
