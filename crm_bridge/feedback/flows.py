"""Contact work that spans contacts, tickets and feedback: merge and data-access export.

It sits here, in the highest of the three domains, so that contacts and tickets need not import what
is above them (docs/decisions/0004-crm-bridge-domain-order.md).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from crm_bridge.contacts import service as contacts
from crm_bridge.contacts.models import Contact
from crm_bridge.feedback import service as feedback
from crm_bridge.tickets import service as tickets
from kefu_core.db import utcnow


def merge_contacts(session: Session, *, target: Contact, source: Contact) -> Contact:
    """Fold `source` into `target`: identities, conversations, tickets and feedback move; `source` stays."""
    contacts.merge(session, target=target, source=source)  # checks the pair before anything moves
    tickets.move_to_contact(session, source_id=source.id, target_id=target.id)
    feedback.move_to_contact(session, source_id=source.id, target_id=target.id)
    return target


def export_contact(session: Session, contact: Contact) -> dict[str, Any]:
    """Everything kefu holds about a contact (for a data-access request)."""
    return {
        **contacts.export(session, contact),
        "tickets": tickets.export_for_contact(session, contact.id),
        "feedback": feedback.export_for_contact(session, contact.id),
        "exported_at": utcnow().isoformat(),
    }
