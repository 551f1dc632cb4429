"""Erasing a contact so that nothing they said or were remains in kefu's database (no HTTP).

The contact and every contact merged into it lose their fields and identities (contacts.service.erase);
every message of their conversations (customer, bot, agent, system, internal notes), ticket subjects,
descriptions and event bodies, feedback comments, escalation notes, turn metadata, unanswered-inbox items
and the FAQ variants made from them, outbox payloads, dead jobs naming them and widget sessions go too.
Ids, timestamps, statuses, ratings and sentiment figures stay, so reports still add up. The CRM record is
deleted through the outbox; Rasa's tracker events are deleted after the commit (erasure/tracker.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from crm_bridge import sync
from crm_bridge.channels.models import Delivery, DeliveryStatus
from crm_bridge.connectors.base import ErasePayload
from crm_bridge.contacts import service as contacts
from crm_bridge.contacts.models import Contact
from crm_bridge.conversations.models import Conversation, Message
from crm_bridge.escalation.models import Escalation
from crm_bridge.feedback.models import Feedback
from crm_bridge.jobs.models import DeadJob
from crm_bridge.outbox.models import Operation, OutboxItem
from crm_bridge.realtime.events import contact_channel, emit
from crm_bridge.tickets.models import Ticket, TicketEvent, format_number
from crm_bridge.turns.models import Turn, TurnStatus
from crm_bridge.widget.models import WidgetSession
from kefu_core.db import utcnow
from knowledge_base.forget import forget_questions

ERASED = contacts.ERASED
REVOKED = "session_revoked"  # the frame a widget socket of an erased contact gets before it is closed


@dataclass
class Erasure:
    """What one erasure touched (ids only): the caller finishes outside the transaction with these."""

    contact_ids: list[int]
    conversation_ids: list[str]
    unanswered_removed: int


def merged_family(session: Session, contact: Contact) -> list[Contact]:
    """The contact and every contact merged into it, merges of merges included."""
    family, frontier = [contact], [contact.id]
    seen = {contact.id}
    while frontier:
        sources = [
            c
            for c in session.scalars(select(Contact).where(Contact.merged_into_id.in_(frontier)))
            if c.id not in seen
        ]
        seen.update(c.id for c in sources)
        family += sources
        frontier = [c.id for c in sources]
    return family


def _names_any(value: Any, needles: set[str]) -> bool:
    """True when a JSON value (a job's arguments) holds one of the ids, at any depth."""
    if isinstance(value, dict):
        return any(_names_any(v, needles) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_names_any(v, needles) for v in value)
    return str(value) in needles


def _outbox(session: Session, contact_ids: list[int], numbers: list[str], feedback_ids: list[int]) -> None:
    """Drop every outbox item about these records (payloads hold names, emails, descriptions, comments),
    then queue the deletion of what the CRM already has."""
    locals_ = {str(i) for i in contact_ids}
    entities = [f"contact:{i}" for i in contact_ids] + [f"ticket:{n}" for n in numbers]
    entities += [f"feedback:{i}" for i in feedback_ids]
    session.execute(delete(OutboxItem).where(OutboxItem.entity.in_(entities)))
    # Feedback without a local id has no entity: its payload names the contact.
    for item in session.scalars(select(OutboxItem).where(OutboxItem.entity.is_(None))):
        if _names_any((item.payload.get("contact") or {}).get("local_id"), locals_) or _names_any(
            (item.payload.get("feedback") or {}).get("contact_local_id"), locals_
        ):
            session.delete(item)
    if sync.enabled():
        for contact_id in contact_ids:
            payload = ErasePayload(
                contact_local_id=str(contact_id),
                ticket_numbers=tuple(numbers) if contact_id == contact_ids[0] else (),
                feedback_local_ids=tuple(str(i) for i in feedback_ids)
                if contact_id == contact_ids[0]
                else (),
            )
            sync.queue(session, Operation.erase_contact, payload)


def erase_contact(session: Session, contact: Contact, *, author_id: int | None = None) -> Erasure:
    """Erase the contact (and the contacts merged into it) everywhere in kefu's database; the caller commits.

    Running it again on an erased contact is harmless (an interrupted erasure can be retried)."""
    family = merged_family(session, contact)
    ids = [c.id for c in family]
    conversation_ids = list(session.scalars(select(Conversation.id).where(Conversation.contact_id.in_(ids))))
    ticket_ids = list(
        session.scalars(
            select(Ticket.id).where(
                or_(Ticket.contact_id.in_(ids), Ticket.conversation_id.in_(conversation_ids))
            )
        )
    )
    feedback_ids = list(
        session.scalars(
            select(Feedback.id).where(
                or_(
                    Feedback.contact_id.in_(ids),
                    Feedback.conversation_id.in_(conversation_ids),
                    Feedback.ticket_id.in_(ticket_ids),
                )
            )
        )
    )
    for person in family:
        contacts.erase(session, person)
    session.execute(
        update(Message).where(Message.conversation_id.in_(conversation_ids)).values(text=ERASED, buttons=[])
    )
    session.execute(
        update(Ticket).where(Ticket.id.in_(ticket_ids)).values(subject=ERASED, description=ERASED)
    )
    session.execute(
        update(TicketEvent)
        .where(TicketEvent.ticket_id.in_(ticket_ids), TicketEvent.body != "")
        .values(body=ERASED)
    )
    session.execute(update(Feedback).where(Feedback.id.in_(feedback_ids)).values(comment=None))
    session.execute(
        update(Escalation).where(Escalation.conversation_id.in_(conversation_ids)).values(note=None)
    )
    # A pending turn would send an erased text to the bot: it is closed instead.
    session.execute(
        update(Turn)
        .where(Turn.conversation_id.in_(conversation_ids), Turn.status == TurnStatus.pending)
        .values(status=TurnStatus.done, finished_at=utcnow())
    )
    session.execute(update(Turn).where(Turn.conversation_id.in_(conversation_ids)).values(rasa_metadata=None))
    session.execute(
        update(Delivery)
        .where(Delivery.conversation_id.in_(conversation_ids), Delivery.status == DeliveryStatus.queued)
        .values(status=DeliveryStatus.failed, last_error="not sent: the contact was erased")
    )
    session.execute(delete(WidgetSession).where(WidgetSession.contact_id.in_(ids)))
    needles = set(conversation_ids) | {str(i) for i in ids}
    for job in session.scalars(select(DeadJob)):
        if _names_any(job.args, needles) or _names_any(job.kwargs, needles):
            session.delete(job)
    _outbox(session, ids, [format_number(t) for t in ticket_ids], feedback_ids)
    removed = forget_questions(session, conversation_ids, marker=ERASED, author_id=author_id)
    for contact_id in ids:
        emit(session, contact_channel(contact_id), {"type": REVOKED})
    session.flush()
    return Erasure(contact_ids=ids, conversation_ids=conversation_ids, unanswered_removed=removed)
