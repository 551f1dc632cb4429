"""Contact database work (no HTTP)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact, ContactIdentity


def resolve_identity(session: Session, *, channel: str, external_id: str, language: str | None) -> Contact:
    """The contact behind a channel identity, created on first contact."""
    stmt = select(ContactIdentity).where(
        ContactIdentity.channel == channel, ContactIdentity.external_id == external_id
    )
    identity = session.scalars(stmt).first()
    if identity is not None:
        return identity.contact
    contact = Contact(preferred_language=language)
    try:
        with session.begin_nested():
            session.add(contact)
            session.add(ContactIdentity(contact=contact, channel=channel, external_id=external_id))
    except IntegrityError:
        # Two first messages raced; the other request created the identity.
        identity = session.scalars(stmt).one()
        return identity.contact
    return contact
