"""Outbox work: enqueue in the caller's transaction, deliver due items with backoff, list and replay.

Delivery is at-least-once: if kefu stops between the CRM's answer and the commit, the item runs again.
Contact upserts are idempotent; a case or note could then be written twice.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_bridge.connectors.base import (
    ConnectorError,
    ContactPayload,
    CRMConnector,
    ErasePayload,
    FeedbackPayload,
    TicketPayload,
)
from crm_bridge.outbox.models import ExternalLink, LinkKind, Operation, OutboxItem, OutboxStatus
from kefu_core.db import utcnow

log = logging.getLogger("kefu.outbox")

MAX_ATTEMPTS = 8
BASE_DELAY_S = 30.0
MAX_DELAY_S = 3600.0
PAYLOADS: dict[Operation, tuple[str, type]] = {
    Operation.upsert_contact: ("contact", ContactPayload),
    Operation.create_ticket: ("ticket", TicketPayload),
    Operation.update_ticket: ("ticket", TicketPayload),
    Operation.write_feedback: ("feedback", FeedbackPayload),
    Operation.erase_contact: ("erase", ErasePayload),
}
Payload = ContactPayload | TicketPayload | FeedbackPayload | ErasePayload


@dataclass
class Counts:
    """What one process_due run did."""

    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    deferred: int = 0


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Delay after the `attempts`-th failure: 30 s doubling per attempt, capped at 1 h, ±10% jitter."""
    base = min(BASE_DELAY_S * 2 ** max(attempts - 1, 0), MAX_DELAY_S)
    # Jitter spreads the retries of many items that failed together (e.g. during an outage).
    return timedelta(seconds=base * (1 + (rng or random).uniform(-0.1, 0.1)))


def _entity(payload: Payload) -> str | None:
    if isinstance(payload, ContactPayload):
        return f"contact:{payload.local_id}"
    if isinstance(payload, ErasePayload):
        return f"contact:{payload.contact_local_id}"
    if isinstance(payload, TicketPayload):
        return f"ticket:{payload.number}"
    return f"feedback:{payload.local_id}" if payload.local_id else None


def enqueue(
    session: Session,
    *,
    connector: str,
    operation: Operation | str,
    payload: Payload,
    contact: ContactPayload | None = None,
) -> OutboxItem:
    """Add a pending item; the caller commits it together with the domain change (that is the durability).

    `contact` (for tickets and feedback) lets the outbox create the contact in the CRM first when needed.
    """
    op = Operation(operation)
    key, expected = PAYLOADS[op]
    if not isinstance(payload, expected):
        raise TypeError(f"{op.value} takes a {expected.__name__}, not {type(payload).__name__}")
    data: dict[str, Any] = {key: payload.to_dict()}
    if op not in (Operation.upsert_contact, Operation.erase_contact):
        data["contact"] = contact.to_dict() if contact is not None else None
    item = OutboxItem(
        connector=connector,
        operation=op.value,
        entity=_entity(payload),
        payload=data,
        status=OutboxStatus.pending,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(item)
    return item


def linked_id(session: Session, connector: str, kind: LinkKind, local_id: str) -> str | None:
    """The external id a local record has in `connector`, or None."""
    return session.scalars(
        select(ExternalLink.external_id).where(
            ExternalLink.connector == connector, ExternalLink.kind == kind, ExternalLink.local_id == local_id
        )
    ).first()


def _link(session: Session, connector: str, kind: LinkKind, local_id: str, external_id: str) -> None:
    link = session.scalars(
        select(ExternalLink).where(
            ExternalLink.connector == connector, ExternalLink.kind == kind, ExternalLink.local_id == local_id
        )
    ).first()
    if link is not None:
        link.external_id = external_id
        return
    try:
        with session.begin_nested():
            session.add(
                ExternalLink(connector=connector, kind=kind, local_id=local_id, external_id=external_id)
            )
    except IntegrityError:
        pass  # another worker linked the same record at the same moment


def _ensure_contact(
    session: Session, impl: CRMConnector, connector: str, data: dict[str, Any] | None
) -> str | None:
    """The contact's external id, upserting the contact first when it has no link yet."""
    if not data:
        return None
    contact = ContactPayload(**data)
    known = linked_id(session, connector, LinkKind.contact, contact.local_id)
    if known is not None:
        return known
    external_id = impl.upsert_contact(contact)
    _link(session, connector, LinkKind.contact, contact.local_id, external_id)
    return external_id


def _erase(session: Session, impl: CRMConnector, name: str, erase: ErasePayload) -> str:
    """Delete the contact's records in the CRM, then forget their links (a later write starts afresh)."""
    wanted = [(LinkKind.contact, erase.contact_local_id)]
    wanted += [(LinkKind.ticket, n) for n in erase.ticket_numbers]
    wanted += [(LinkKind.feedback, f) for f in erase.feedback_local_ids]
    links = [
        link
        for kind, local_id in wanted
        for link in session.scalars(
            select(ExternalLink).where(
                ExternalLink.connector == name, ExternalLink.kind == kind, ExternalLink.local_id == local_id
            )
        )
    ]
    contact = next((link.external_id for link in links if link.kind is LinkKind.contact), None)
    impl.erase_contact(
        contact,
        ticket_external_ids=[link.external_id for link in links if link.kind is LinkKind.ticket],
        feedback_external_ids=[link.external_id for link in links if link.kind is LinkKind.feedback],
    )
    for link in links:
        session.delete(link)
    return contact or ""


def _deliver(session: Session, impl: CRMConnector, item: OutboxItem) -> str:
    name, data, op = item.connector, item.payload, Operation(item.operation)
    if op is Operation.erase_contact:
        return _erase(session, impl, name, ErasePayload.from_dict(data["erase"]))
    if op is Operation.upsert_contact:
        contact = ContactPayload(**data["contact"])
        external_id = impl.upsert_contact(contact)
        _link(session, name, LinkKind.contact, contact.local_id, external_id)
        return external_id
    if op is Operation.write_feedback:
        feedback = FeedbackPayload(**data["feedback"])
        if feedback.local_id and (known := linked_id(session, name, LinkKind.feedback, feedback.local_id)):
            return known
        external_id = impl.write_feedback(feedback, _ensure_contact(session, impl, name, data.get("contact")))
        if feedback.local_id:
            _link(session, name, LinkKind.feedback, feedback.local_id, external_id)
        return external_id
    ticket = TicketPayload(**data["ticket"])
    known = linked_id(session, name, LinkKind.ticket, ticket.number)
    if known is None:
        # Also for an update whose create went dead: the payload holds the whole ticket, so create it.
        external_id = impl.create_ticket(ticket, _ensure_contact(session, impl, name, data.get("contact")))
        _link(session, name, LinkKind.ticket, ticket.number, external_id)
        return external_id
    if op is Operation.update_ticket:
        impl.update_ticket(known, ticket)
    # A create that finds a link was overtaken by a newer update (replayed after going dead): nothing to do.
    return known


def _blocked_until(session: Session, item: OutboxItem) -> datetime | None:
    """When an older pending item about the same record (or its contact) is next due, if there is one."""
    keys = [item.entity] if item.entity else []
    contact = item.payload.get("contact") if item.operation != Operation.upsert_contact else None
    if item.operation == Operation.erase_contact:
        contact = None
    if isinstance(contact, dict) and contact.get("local_id"):
        keys.append(f"contact:{contact['local_id']}")
    if not keys:
        return None
    return session.scalar(
        select(func.min(OutboxItem.next_attempt_at)).where(
            OutboxItem.connector == item.connector,
            OutboxItem.status == OutboxStatus.pending,
            OutboxItem.id < item.id,
            OutboxItem.entity.in_(keys),
        )
    )


def _process_one(
    session: Session,
    impl: CRMConnector,
    item: OutboxItem,
    now: datetime,
    max_attempts: int,
    rng: random.Random | None,
) -> str:
    blocked = _blocked_until(session, item)
    if blocked is not None:
        # Keep per-record order (an old update must not overwrite a newer one); wait for the older item.
        item.next_attempt_at = max(blocked, now)
        return "deferred"
    try:
        external_id = _deliver(session, impl, item)
    except ConnectorError as exc:
        item.attempts += 1
        item.last_error = str(exc)[:1000]
        if exc.retryable and item.attempts < max_attempts:
            item.next_attempt_at = now + backoff(item.attempts, rng)
            log.info("outbox item %d (%s) failed, retrying: %s", item.id, item.operation, exc)
            return "retrying"
        item.status = OutboxStatus.dead
        # ERROR: nothing retries it any more; someone must look (`kefu outbox list --status dead`, /healthz).
        log.error("outbox item %d (%s) is dead, replay it when fixed: %s", item.id, item.operation, exc)
        return "dead"
    except (KeyError, TypeError, ValueError) as exc:
        item.attempts += 1
        item.status = OutboxStatus.dead
        item.last_error = f"malformed payload: {type(exc).__name__}"
        log.error("outbox item %d (%s) is dead: a malformed payload", item.id, item.operation)
        return "dead"
    item.status, item.external_id, item.done_at, item.last_error = OutboxStatus.done, external_id, now, None
    return "delivered"


def process_due(
    session: Session,
    connector_impl: CRMConnector,
    *,
    connector_name: str,
    now: datetime | None = None,
    limit: int = 50,
    max_attempts: int = MAX_ATTEMPTS,
    rng: random.Random | None = None,
) -> Counts:
    """Deliver due pending items of `connector_name`, oldest first; commits after each item."""
    now = now or utcnow()
    due = (OutboxItem.connector == connector_name, OutboxItem.status == OutboxStatus.pending)
    ids = list(
        session.scalars(
            select(OutboxItem.id)
            .where(*due, OutboxItem.next_attempt_at <= now)
            .order_by(OutboxItem.id)
            .limit(limit)
        )
    )
    session.commit()
    counts = Counts()
    for item_id in ids:
        try:
            # Lock the row (PostgreSQL) so two workers never send the same item; SQLite serialises writers.
            item = session.scalars(
                select(OutboxItem)
                .where(OutboxItem.id == item_id, *due, OutboxItem.next_attempt_at <= now)
                .with_for_update(skip_locked=True)
                .execution_options(populate_existing=True)
            ).first()
            if item is not None:
                outcome = _process_one(session, connector_impl, item, now, max_attempts, rng)
                setattr(counts, outcome, getattr(counts, outcome) + 1)
            session.commit()
        except Exception:
            session.rollback()
            raise
    return counts


def list_items(
    session: Session,
    status: OutboxStatus | str | None = None,
    *,
    connector: str | None = None,
    limit: int = 200,
) -> list[OutboxItem]:
    """Outbox items, oldest first, optionally of one status and connector."""
    stmt = select(OutboxItem).order_by(OutboxItem.id).limit(limit)
    if status is not None:
        stmt = stmt.where(OutboxItem.status == OutboxStatus(status))
    if connector is not None:
        stmt = stmt.where(OutboxItem.connector == connector)
    return list(session.scalars(stmt))


def replay(
    session: Session,
    ids: Sequence[int] | None = None,
    *,
    connector: str | None = None,
    now: datetime | None = None,
) -> int:
    """Reset the given items (not delivered ones), or every dead item when `ids` is None, to pending now."""
    stmt = select(OutboxItem)
    if ids is None:
        stmt = stmt.where(OutboxItem.status == OutboxStatus.dead)
    else:
        # Done items are left alone: sending them again would duplicate cases and notes.
        stmt = stmt.where(OutboxItem.id.in_(list(ids)), OutboxItem.status != OutboxStatus.done)
    if connector is not None:
        stmt = stmt.where(OutboxItem.connector == connector)
    items = list(session.scalars(stmt))
    for item in items:
        item.status, item.attempts, item.next_attempt_at = OutboxStatus.pending, 0, now or utcnow()
    session.flush()
    return len(items)


def dead_count(session: Session) -> int:
    """How many outbox items are dead (waiting for a person to replay them)."""
    stmt = select(func.count()).select_from(OutboxItem).where(OutboxItem.status == OutboxStatus.dead)
    return int(session.scalar(stmt) or 0)
