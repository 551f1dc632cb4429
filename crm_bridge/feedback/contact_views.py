"""Contact routes whose work spans contacts, tickets and feedback: merge and data-access export.

They are part of the contacts API (/api/v1/contacts, tag "contacts") but are served from here, the
highest of the three domains, so that contacts need not import tickets and feedback.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from crm_bridge.contacts import service as contacts
from crm_bridge.contacts.models import Contact
from crm_bridge.contacts.schemas import ContactRead, MergeRequest
from crm_bridge.db import DbSession
from crm_bridge.feedback import flows
from crm_bridge.shapes import PathId
from crm_bridge.users.auth import Principal, require_role
from crm_bridge.users.models import Role

router = APIRouter(prefix="/api/v1/contacts", tags=["contacts"])
Agent = Annotated[Principal, require_role(Role.agent)]
Admin = Annotated[Principal, require_role(Role.admin)]


@router.post("/{contact_id}/merge", response_model=ContactRead)
def merge_contact(contact_id: PathId, body: MergeRequest, _: Agent, session: DbSession) -> Contact:
    """Fold another contact into this one: identities, conversations, tickets and feedback move."""
    target = contacts.get_or_raise(session, contact_id)
    source = contacts.get_or_raise(session, body.source_id)
    flows.merge_contacts(session, target=target, source=source)
    session.commit()
    return contacts.get_or_raise(session, contact_id)


@router.get("/{contact_id}/export")
def export_contact(contact_id: PathId, _: Admin, session: DbSession) -> dict[str, Any]:
    """Everything held about a contact, as JSON (data-access requests)."""
    return flows.export_contact(session, contacts.get_or_raise(session, contact_id))
