"""Ticket database work (no HTTP): workflow, SLA due times, timeline, idempotent create."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy import update as update_rows  # `update` is this module's PATCH
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from crm_bridge.contacts.models import Contact
from crm_bridge.conversations.models import Conversation
from crm_bridge.tickets.models import EventKind, Priority, Ticket, TicketEvent, TicketStatus, parse_number
from crm_bridge.users.models import User
from kefu_core.db import utcnow
from kefu_core.errors import Conflict, Invalid, NotFound
from kefu_core.settings import get_settings

S = TicketStatus
ALLOWED: dict[TicketStatus, frozenset[TicketStatus]] = {
    S.new: frozenset({S.open, S.pending, S.resolved}),
    S.open: frozenset({S.pending, S.resolved}),
    S.pending: frozenset({S.open, S.resolved}),
    S.resolved: frozenset({S.open, S.closed}),  # reopen, or close for good
    S.closed: frozenset(),
}


class TransitionNotAllowed(Conflict):
    """A status change the workflow does not allow."""

    code = "transition_not_allowed"


@dataclass(frozen=True)
class TicketFilters:
    """List filters."""

    status: TicketStatus | None = None
    priority: Priority | None = None
    assignee_id: int | None = None
    contact_id: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def due_times(priority: Priority, start: datetime) -> tuple[datetime, datetime]:
    """First-response and resolution due times for `priority` from `start`."""
    target = get_settings().sla_policy[priority.value]
    return (
        start + timedelta(minutes=target.first_response_minutes),
        start + timedelta(minutes=target.resolution_minutes),
    )


def request_fingerprint(payload: dict[str, Any]) -> str:
    """Stable hash of a create request, to tell a retry from a different request with the same key."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _check_refs(session: Session, data: dict[str, Any]) -> None:
    for key, model, label in (
        ("contact_id", Contact, "contact"),
        ("conversation_id", Conversation, "conversation"),
        ("assignee_id", User, "assignee"),
    ):
        if data.get(key) is not None and session.get(model, data[key]) is None:
            raise Invalid(f"{label} {data[key]} does not exist", details=[{"loc": [key], "msg": "not found"}])


def create(
    session: Session,
    *,
    data: dict[str, Any],
    author_id: int | None = None,
    idempotency_key: str | None = None,
) -> tuple[Ticket, bool]:
    """Create a ticket (a retry with the same idempotency key returns the first); -> (ticket, replayed)."""
    fingerprint = request_fingerprint(data)
    if idempotency_key:
        existing = session.scalars(select(Ticket).where(Ticket.idempotency_key == idempotency_key)).first()
        if existing is not None:
            return _replay(existing, fingerprint), True
    _check_refs(session, data)
    now = utcnow()
    priority = Priority(data.get("priority") or Priority.normal)
    first_due, resolution_due = due_times(priority, now)
    ticket = Ticket(
        subject=data["subject"],
        description=data.get("description") or "",
        priority=priority,
        contact_id=data.get("contact_id"),
        conversation_id=data.get("conversation_id"),
        assignee_id=data.get("assignee_id"),
        idempotency_key=idempotency_key,
        request_hash=fingerprint if idempotency_key else None,
        created_at=now,
        first_response_due_at=first_due,
        resolution_due_at=resolution_due,
    )
    ticket.events = [
        TicketEvent(kind=EventKind.created, author_id=author_id, data={"priority": priority.value})
    ]
    if not idempotency_key:
        session.add(ticket)
        session.flush()
        return ticket, False
    try:
        # The savepoint lets a concurrent retry with the same key lose the race without losing the session.
        with session.begin_nested():
            session.add(ticket)
    except IntegrityError:
        existing = session.scalars(select(Ticket).where(Ticket.idempotency_key == idempotency_key)).one()
        return _replay(existing, fingerprint), True
    return ticket, False


def _replay(existing: Ticket, fingerprint: str) -> Ticket:
    if existing.request_hash != fingerprint:
        raise Conflict("this Idempotency-Key was already used for a different request")
    return existing


def get_or_raise(session: Session, number: str) -> Ticket:
    """The ticket with this number (T-000123), or NotFound."""
    ticket_id = parse_number(number)
    ticket = session.get(Ticket, ticket_id, options=[selectinload(Ticket.events)]) if ticket_id else None
    if ticket is None:
        raise NotFound(f"ticket {number} not found")
    return ticket


def list_query(filters: TicketFilters) -> Select[Any]:
    """SELECT for a filtered list, newest first."""
    stmt = select(Ticket).order_by(Ticket.id.desc())
    if filters.status:
        stmt = stmt.where(Ticket.status == filters.status)
    if filters.priority:
        stmt = stmt.where(Ticket.priority == filters.priority)
    if filters.assignee_id is not None:
        stmt = stmt.where(Ticket.assignee_id == filters.assignee_id)
    if filters.contact_id is not None:
        stmt = stmt.where(Ticket.contact_id == filters.contact_id)
    if filters.created_from:
        stmt = stmt.where(Ticket.created_at >= filters.created_from)
    if filters.created_to:
        stmt = stmt.where(Ticket.created_at < filters.created_to)
    return stmt


def change_status(session: Session, ticket: Ticket, new: TicketStatus, *, author_id: int | None) -> None:
    """Move along the workflow, or raise TransitionNotAllowed naming what is allowed."""
    if new == ticket.status:
        return
    allowed = ALLOWED[ticket.status]
    if new not in allowed:
        names = ", ".join(sorted(s.value for s in allowed)) or "none (closed is final)"
        raise TransitionNotAllowed(
            f"cannot move a {ticket.status.value} ticket to {new.value}; allowed: {names}",
            details={
                "from": ticket.status.value,
                "to": new.value,
                "allowed": sorted(s.value for s in allowed),
            },
        )
    now = utcnow()
    ticket.events.append(
        TicketEvent(
            kind=EventKind.status_change,
            author_id=author_id,
            data={"from": ticket.status.value, "to": new.value},
        )
    )
    if new is S.resolved:
        ticket.resolved_at = now
    elif new is S.closed:
        ticket.closed_at = now
    elif ticket.status is S.resolved:  # reopened: the resolution clock runs again
        ticket.resolved_at = None
    ticket.status = new


def update(session: Session, ticket: Ticket, changes: dict[str, Any], *, author_id: int | None) -> Ticket:
    """Apply a PATCH: status (workflow-checked), priority (due times recomputed), assignee, subject."""
    if ticket.status is S.closed and changes:
        raise TransitionNotAllowed("a closed ticket cannot change", details={"allowed": []})
    if "assignee_id" in changes and changes["assignee_id"] is not None:
        _check_refs(session, {"assignee_id": changes["assignee_id"]})
    if "status" in changes and changes["status"] is not None:
        change_status(session, ticket, TicketStatus(changes["status"]), author_id=author_id)
    if changes.get("priority") is not None and changes["priority"] != ticket.priority:
        old = ticket.priority
        ticket.priority = Priority(changes["priority"])
        ticket.first_response_due_at, ticket.resolution_due_at = due_times(ticket.priority, ticket.created_at)
        ticket.events.append(
            TicketEvent(
                kind=EventKind.priority_change,
                author_id=author_id,
                data={"from": old.value, "to": ticket.priority.value},
            )
        )
    if "assignee_id" in changes and changes["assignee_id"] != ticket.assignee_id:
        ticket.events.append(
            TicketEvent(
                kind=EventKind.assignment,
                author_id=author_id,
                data={"from": ticket.assignee_id, "to": changes["assignee_id"]},
            )
        )
        ticket.assignee_id = changes["assignee_id"]
    if changes.get("subject"):
        ticket.subject = changes["subject"].strip()
    session.flush()
    return ticket


def add_event(
    session: Session, ticket: Ticket, *, kind: EventKind, body: str, author_id: int | None
) -> TicketEvent:
    """A public reply (the first one stops the first-response clock) or an internal note."""
    if ticket.status is S.closed:
        raise TransitionNotAllowed("a closed ticket takes no more replies or notes", details={"allowed": []})
    event = TicketEvent(kind=kind, body=body, author_id=author_id)
    ticket.events.append(event)
    if kind is EventKind.public_reply and ticket.first_responded_at is None:
        ticket.first_responded_at = utcnow()
        if ticket.status is S.new:
            change_status(session, ticket, S.open, author_id=author_id)
    session.flush()
    return event


def to_read(ticket: Ticket, now: datetime | None = None) -> dict[str, Any]:
    """The API view of a ticket, with breach flags evaluated now."""
    now = now or utcnow()
    fields = (
        "subject", "description", "status", "priority", "contact_id", "conversation_id", "assignee_id",
        "created_at", "updated_at", "first_response_due_at", "resolution_due_at", "first_responded_at",
        "resolved_at", "closed_at",
    )  # fmt: skip
    out = {name: getattr(ticket, name) for name in fields}
    out["number"] = ticket.number
    out["first_response_breached"] = ticket.first_response_breached(now)
    out["resolution_breached"] = ticket.resolution_breached(now)
    return out


def move_to_contact(session: Session, *, source_id: int, target_id: int) -> None:
    """Give every ticket of contact `source_id` to contact `target_id` (a contact merge)."""
    session.execute(update_rows(Ticket).where(Ticket.contact_id == source_id).values(contact_id=target_id))


def export_for_contact(session: Session, contact_id: int) -> list[dict[str, Any]]:
    """The contact's tickets as JSON-ready API views, oldest first (a data-access export)."""
    tickets = session.scalars(select(Ticket).where(Ticket.contact_id == contact_id).order_by(Ticket.id)).all()
    return [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in to_read(t).items()} for t in tickets
    ]
