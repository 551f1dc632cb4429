"""Ticket routes (agents and admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response

from crm_bridge.audit import service as audit
from crm_bridge.db import DbSession
from crm_bridge.pagination import Page, PageParams, page_params, paginate
from crm_bridge.shapes import QueryId
from crm_bridge.tickets import crm, service
from crm_bridge.tickets.models import EventKind, Priority, TicketStatus
from crm_bridge.tickets.schemas import (
    TicketCreate,
    TicketDetail,
    TicketEventCreate,
    TicketEventRead,
    TicketRead,
    TicketUpdate,
)
from crm_bridge.users.auth import Principal, require_role
from crm_bridge.users.models import Role

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])
# The service token (the action server) reaches only the routes it calls: docs in README "Security".
Agent = Annotated[Principal, require_role(Role.agent)]
AgentOrService = Annotated[Principal, require_role(Role.agent, allow_service=True)]


def _detail(ticket: Any) -> dict[str, Any]:
    return {**service.to_read(ticket), "events": ticket.events}


@router.get("", response_model=Page[TicketRead])
def list_tickets(
    _: AgentOrService,
    session: DbSession,
    page: Annotated[PageParams, Depends(page_params)],
    status: TicketStatus | None = None,
    priority: Priority | None = None,
    assignee_id: QueryId = None,
    contact_id: QueryId = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> dict[str, Any]:
    """Tickets, newest first, filtered by status, priority, assignee, contact and creation date."""
    filters = service.TicketFilters(status, priority, assignee_id, contact_id, created_from, created_to)
    items, total = paginate(session, service.list_query(filters), page)
    return {"items": [service.to_read(t) for t in items], "total": total}


@router.post("", response_model=TicketDetail, status_code=201)
def create_ticket(
    body: TicketCreate,
    principal: AgentOrService,
    session: DbSession,
    request: Request,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(min_length=1, max_length=200, description="a retried create returns the same ticket"),
    ] = None,
) -> dict[str, Any]:
    """Create a ticket. Send an Idempotency-Key header to make retries safe."""
    ticket, replayed = service.create(
        session, data=body.model_dump(), author_id=principal.user_id, idempotency_key=idempotency_key
    )
    if not replayed:
        crm.ticket_changed(session, ticket, created=True)
        audit.record(
            session,
            request,
            principal,
            action="ticket.create",
            target_type="ticket",
            target_id=ticket.number,
            details={"priority": ticket.priority.value},
        )
    session.commit()
    if replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return _detail(ticket)


@router.get("/{number}", response_model=TicketDetail)
def get_ticket(number: str, _: AgentOrService, session: DbSession) -> dict[str, Any]:
    """One ticket with its timeline."""
    return _detail(service.get_or_raise(session, number))


@router.patch("/{number}", response_model=TicketDetail)
def update_ticket(
    number: str, body: TicketUpdate, principal: Agent, session: DbSession, request: Request
) -> dict[str, Any]:
    """Change status (only allowed transitions; 409 names them), priority or assignee."""
    ticket = service.get_or_raise(session, number)
    changes = body.model_dump(exclude_unset=True)
    service.update(session, ticket, changes, author_id=principal.user_id)
    crm.ticket_changed(session, ticket, created=False)
    audit.record(
        session,
        request,
        principal,
        action="ticket.update",
        target_type="ticket",
        target_id=ticket.number,
        details={"fields": sorted(changes), "status": ticket.status.value},
    )
    session.commit()
    return _detail(ticket)


@router.post("/{number}/events", response_model=TicketEventRead, status_code=201)
def add_ticket_event(
    number: str, body: TicketEventCreate, principal: Agent, session: DbSession, request: Request
) -> Any:
    """Add a public reply or an internal note to the timeline."""
    ticket = service.get_or_raise(session, number)
    event = service.add_event(
        session, ticket, kind=EventKind(body.kind), body=body.body, author_id=principal.user_id
    )
    audit.record(
        session,
        request,
        principal,
        action="ticket.comment",
        target_type="ticket",
        target_id=ticket.number,
        details={"kind": body.kind},
    )
    session.commit()
    return event
