"""Rows with known times for the voice, topics and at-risk tests (written straight to the database).

Each test tags its contacts with a tag of its own and reports on a period of its own, so the session-wide
databases (other tests add rows too) give exact numbers through the `tag` filter.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact, Tier
from crm_bridge.conversations.models import Conversation, ConversationStatus, Message, MessageRole
from crm_bridge.escalation.models import Escalation
from crm_bridge.feedback.models import Feedback
from crm_bridge.tickets.models import EventKind, Ticket, TicketEvent, TicketStatus


def at(day: str, hour: int = 12) -> datetime:
    """Noon (or `hour`) UTC of an ISO day."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def new_tag() -> str:
    """A tag no other test uses."""
    return f"t-{uuid.uuid4().hex[:10]}"


def contact(session: Session, tag: str, name: str, tier: Tier = Tier.standard) -> Contact:
    """A contact with the test's tag."""
    person = Contact(name=name, tier=tier, tags=[tag, "other"])
    session.add(person)
    session.flush()
    return person


def conversation(
    session: Session, person: Contact, when: datetime, channel: str = "rest", language: str | None = "en"
) -> Conversation:
    """A conversation started (and last updated) at `when`."""
    conv = Conversation(
        contact_id=person.id,
        channel=channel,
        language=language,
        status=ConversationStatus.agent,
        started_at=when,
        updated_at=when,
    )
    session.add(conv)
    session.flush()
    return conv


def say(
    session: Session,
    conv: Conversation,
    text: str,
    when: datetime,
    label: str | None = None,
    role: MessageRole = MessageRole.customer,
    internal: bool = False,
) -> Message:
    """A message with a sentiment label."""
    message = Message(
        conversation_id=conv.id, role=role, text=text, channel=conv.channel, language=conv.language,
        sentiment_label=label, sentiment_score={"negative": -0.8, "positive": 0.8}.get(label or "", 0.0),
        internal=internal, created_at=when,
    )  # fmt: skip
    session.add(message)
    session.flush()
    return message


def escalate(session: Session, conv: Conversation, reason: str, when: datetime) -> None:
    """An escalation of the conversation."""
    session.add(Escalation(conversation_id=conv.id, reason=reason, outcome="queued", created_at=when))
    session.flush()


def rate(
    session: Session,
    conv: Conversation | None,
    person: Contact,
    rating: int,
    comment: str | None,
    when: datetime,
) -> None:
    """A rating (with the contact named, as the feedback route stores it)."""
    session.add(
        Feedback(
            rating=rating,
            comment=comment,
            conversation_id=conv.id if conv else None,
            contact_id=person.id,
            created_at=when,
        )
    )
    session.flush()


def ticket_change(
    session: Session,
    person: Contact,
    conv: Conversation | None,
    old: TicketStatus,
    new: TicketStatus,
    when: datetime,
) -> Ticket:
    """A ticket of the contact whose status went from `old` to `new` at `when`."""
    ticket = Ticket(
        subject="a problem",
        status=new,
        contact_id=person.id,
        conversation_id=conv.id if conv else None,
        created_at=when - timedelta(days=2),
        updated_at=when,
        first_response_due_at=when,
        resolution_due_at=when + timedelta(days=1),
    )
    session.add(ticket)
    session.flush()
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            kind=EventKind.status_change,
            data={"from": old.value, "to": new.value},
            created_at=when,
        )
    )
    session.flush()
    return ticket
