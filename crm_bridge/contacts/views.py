"""Contact routes.

Merge (POST /{contact_id}/merge) and export (GET /{contact_id}/export) move and read tickets and
feedback, which sit above contacts: feedback/contact_views.py serves them, at the same paths.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import TypeAdapter
from sqlalchemy.orm import Session

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
    _: Agent,
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
    return await read_json(_CONTACT_PAGE, query, indexed=not (q and q.strip()))


@router.post("", response_model=ContactRead, status_code=201)
def create_contact(body: ContactCreate, _: Agent, session: DbSession) -> Contact:
    """Create a contact (email validated, phone normalised to E.164)."""
    contact = service.create(session, data=body.model_dump(exclude_unset=True))
    crm.contact_changed(session, contact)
    session.commit()
    return service.get_or_raise(session, contact.id)


@router.get("/{contact_id}", response_model=ContactRead)
async def get_contact(contact_id: PathId, _: AgentOrService) -> Response:
    """One contact with its channel identities."""
    return await read_json(_CONTACT, lambda session: service.get_or_raise(session, contact_id))


@router.patch("/{contact_id}", response_model=ContactRead)
def update_contact(contact_id: PathId, body: ContactUpdate, _: AgentOrService, session: DbSession) -> Contact:
    """Change fields (only those sent)."""
    contact = service.update_fields(
        session,
        contact=service.get_or_raise(session, contact_id),
        changes=body.model_dump(exclude_unset=True),
    )
    crm.contact_changed(session, contact)
    session.commit()
    return contact


@router.delete("/{contact_id}", response_model=ContactRead)
def erase_contact(contact_id: PathId, _: Admin, session: DbSession) -> Contact:
    """Erase personal data (PIPL / GDPR): fields and message texts anonymised; tickets and figures kept."""
    contact = service.erase(session, service.get_or_raise(session, contact_id))
    session.commit()
    return contact
