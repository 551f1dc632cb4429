"""Contact routes.

Merge (POST /{contact_id}/merge) moves tickets and feedback, which sit above contacts:
feedback/contact_views.py serves it. Erasure (DELETE /{contact_id}) and export (GET /{contact_id}/export)
reach every domain: crm_bridge/erasure/views.py serves them, at the same paths.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from crm_bridge.audit import service as audit
from crm_bridge.contacts import crm, service
from crm_bridge.contacts.models import Contact
from crm_bridge.contacts.schemas import (
    ContactCreate,
    ContactRead,
    ContactUpdate,
    normalise_phone,
)
from crm_bridge.db import DbSession
from crm_bridge.pagination import Page, PageParams, page_params, paginate
from crm_bridge.reads import read_json
from crm_bridge.shapes import PathId
from crm_bridge.users.auth import Principal, require_role
from crm_bridge.users.models import Role
from kefu_core.errors import Invalid

router = APIRouter(prefix="/api/v1/contacts", tags=["contacts"])
# The service token (the action server) reaches only the routes it calls: docs in README "Security".
Agent = Annotated[Principal, require_role(Role.agent)]
AgentOrService = Annotated[Principal, require_role(Role.agent, allow_service=True)]
Admin = Annotated[Principal, require_role(Role.admin)]


_CONTACT_PAGE = TypeAdapter(Page[ContactRead])
_CONTACT = TypeAdapter(ContactRead)


@router.get("", response_model=Page[ContactRead])
async def list_contacts(
    principal: Agent,
    request: Request,
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=200, description="part of a name, email or phone")] = None,
    email: Annotated[str | None, Query(max_length=320, description="exact email (indexed)")] = None,
    phone: Annotated[
        str | None, Query(max_length=40, description="exact phone, any format (indexed)")
    ] = None,
    include_merged: bool = False,
) -> Response:
    """Search contacts by part of a name, email or phone, or look one up by exact email or phone."""
    try:
        normalised = normalise_phone(phone)
    except ValueError as exc:
        raise Invalid(str(exc), details=[{"loc": ["query", "phone"], "msg": str(exc)}]) from exc
    stmt, values = service.search_query(q, include_merged=include_merged, email=email, phone=normalised)

    def query(session: Session) -> dict[str, Any]:
        items, total = paginate(session, stmt, page, values)
        return {"items": items, "total": total}

    # A text search may scan every contact; exact email / phone lookups use their indexes.
    body = await read_json(_CONTACT_PAGE, query, indexed=not (q and q.strip()))
    used = [name for name, value in (("q", q), ("email", email), ("phone", phone)) if value]  # never values
    await run_in_threadpool(
        audit.record_person_read,
        request,
        principal,
        action="contact.list",
        target_type="contact",
        target_id=None,
        details={"filters": used, "include_merged": include_merged},
    )
    return body


@router.post("", response_model=ContactRead, status_code=201)
def create_contact(body: ContactCreate, principal: Agent, session: DbSession, request: Request) -> Contact:
    """Create a contact (email validated, phone normalised to E.164)."""
    contact = service.create(session, data=body.model_dump(exclude_unset=True))
    crm.contact_changed(session, contact)
    audit.record(
        session, request, principal, action="contact.create", target_type="contact", target_id=contact.id
    )
    session.commit()
    return service.get_or_raise(session, contact.id)


@router.get("/{contact_id}", response_model=ContactRead)
async def get_contact(contact_id: PathId, principal: AgentOrService, request: Request) -> Response:
    """One contact with its channel identities (a person's read is recorded in the audit log)."""
    body = await read_json(_CONTACT, lambda session: service.get_or_raise(session, contact_id))
    # The action server's lookups (the service token) are not a person reading: not recorded.
    await run_in_threadpool(
        audit.record_person_read,
        request,
        principal,
        action="contact.read",
        target_type="contact",
        target_id=contact_id,
    )
    return body


@router.patch("/{contact_id}", response_model=ContactRead)
def update_contact(
    contact_id: PathId, body: ContactUpdate, principal: AgentOrService, session: DbSession, request: Request
) -> Contact:
    """Change fields (only those sent)."""
    changes = body.model_dump(exclude_unset=True)
    contact = service.update_fields(
        session, contact=service.get_or_raise(session, contact_id), changes=changes
    )
    crm.contact_changed(session, contact)
    audit.record(
        session,
        request,
        principal,
        action="contact.update",
        target_type="contact",
        target_id=contact_id,
        details={"fields": sorted(changes)},
    )
    session.commit()
    return contact
