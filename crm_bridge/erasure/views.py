"""Contact erasure and export routes (DELETE /api/v1/contacts/{id}, GET /api/v1/contacts/{id}/export).

They belong to the contacts API but reach every domain, so they are served from here, above them all.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Request

from crm_bridge.audit import service as audit
from crm_bridge.contacts import service as contacts
from crm_bridge.contacts.models import Contact
from crm_bridge.contacts.schemas import ContactRead
from crm_bridge.db import DbSession
from crm_bridge.erasure import export, service, tracker
from crm_bridge.shapes import PathId
from crm_bridge.users.auth import Principal, require_role
from crm_bridge.users.models import Role
from kefu_core.errors import Unavailable
from knowledge_base import runtime

log = logging.getLogger("kefu.erasure")
router = APIRouter(prefix="/api/v1/contacts", tags=["contacts"])
Admin = Annotated[Principal, require_role(Role.admin)]


@router.get("/{contact_id}/export")
def export_contact(
    contact_id: PathId, principal: Admin, session: DbSession, request: Request
) -> dict[str, Any]:
    """Everything held about a contact, as JSON (data-access requests; recorded in the audit log)."""
    exported = export.export_contact(session, contacts.get_or_raise(session, contact_id))
    audit.record(session, request, principal, action="contact.export", target_type="contact",
                 target_id=contact_id)  # fmt: skip
    session.commit()
    return exported


@router.delete("/{contact_id}", response_model=ContactRead)
def erase_contact(contact_id: PathId, principal: Admin, session: DbSession, request: Request) -> Contact:
    """Erase personal data (PIPL / GDPR) everywhere: fields, identities, every message of the contact's
    conversations, ticket texts, feedback comments, unanswered questions, outbox payloads, widget sessions,
    the contacts merged into it, Rasa's tracker events and (through the outbox) the CRM record; ids,
    tickets and figures are kept. Safe to repeat: a 503 from the tracker store means "try again"."""
    erasure = service.erase_contact(
        session, contacts.get_or_raise(session, contact_id), author_id=principal.user_id
    )
    audit.record(session, request, principal, action="contact.erase", target_type="contact",
                 target_id=contact_id, details={"contacts": len(erasure.contact_ids),
                 "conversations": len(erasure.conversation_ids)})  # fmt: skip
    session.commit()
    if erasure.unanswered_removed:
        runtime.refresh(request.app.state.retriever, session)
    try:
        removed = tracker.forget(erasure.conversation_ids)
    except tracker.TrackerUnavailable as exc:
        log.warning("contact %d erased, but not its tracker events: %s", contact_id, exc)
        raise Unavailable(
            "the contact was erased in kefu's database, but Rasa's tracker store could not be reached: "
            "repeat the request"
        ) from None
    log.info(
        "contact %d erased: %d contacts, %d conversations, %d tracker events",
        contact_id, len(erasure.contact_ids), len(erasure.conversation_ids), removed,
    )  # fmt: skip
    return contacts.get_or_raise(session, contact_id)
