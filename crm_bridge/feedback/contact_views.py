"""Contact routes whose work spans contacts, tickets and feedback: merge (the data-access export and the
erasure reach every domain: crm_bridge/erasure/views.py serves them).

They are part of the contacts API (/api/v1/contacts, tag "contacts") but are served from here, the
highest of the three domains, so that contacts need not import tickets and feedback.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from crm_bridge.audit import service as audit
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
def merge_contact(
    contact_id: PathId, body: MergeRequest, principal: Agent, session: DbSession, request: Request
) -> Contact:
    """Fold another contact into this one: identities, conversations, tickets and feedback move."""
    target = contacts.get_or_raise(session, contact_id)
    source = contacts.get_or_raise(session, body.source_id)
    flows.merge_contacts(session, target=target, source=source)
    audit.record(
        session,
        request,
        principal,
        action="contact.merge",
        target_type="contact",
        target_id=contact_id,
        details={"source_id": body.source_id},
    )
    session.commit()
    return contacts.get_or_raise(session, contact_id)
