"""A contact as external CRMs see it, and the write-through of its changes (crm_bridge.sync)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from crm_bridge import sync
from crm_bridge.connectors.base import ContactPayload
from crm_bridge.contacts.models import Contact, Tier
from crm_bridge.outbox.models import Operation


def contact_payload(contact: Contact) -> ContactPayload:
    """The payload for a kefu contact."""
    return ContactPayload(
        local_id=str(contact.id),
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
        language=contact.preferred_language,
        tier=contact.tier.value if contact.tier else Tier.standard.value,
    )


def contact_changed(session: Session, contact: Contact) -> None:
    """Queue an upsert of the contact."""
    if sync.enabled() and contact.erased_at is None:
        sync.queue(session, Operation.upsert_contact, contact_payload(contact))
