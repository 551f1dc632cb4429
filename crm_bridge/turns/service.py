"""Turns in the database: store a customer message once per platform id, find the next turn (no HTTP)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_bridge.contacts import service as contacts
from crm_bridge.conversations import service as conversations
from crm_bridge.conversations.models import Conversation, MessageRole
from crm_bridge.observability.metrics import observe_stage
from crm_bridge.realtime.events import emit_message
from crm_bridge.turns.models import Turn, TurnStatus
from kefu_core.db import utcnow
from kefu_core.language import detect_language


@dataclass(frozen=True)
class Inbound:
    """One customer message as a channel received it, verified and parsed."""

    channel: str
    user_id: str  # the customer's id on the platform (a contact identity)
    platform_id: str  # the platform's id of this message or delivery: redeliveries repeat it
    text: str
    display_name: str | None = None  # the name the platform shows, kept on a contact that has none
    client_id: str | None = None  # the widget's id of the message (a resend is the same message)
    metadata: dict[str, Any] | None = None  # for Rasa, from the REST API's caller


@dataclass(frozen=True)
class Received:
    """What storing an inbound message did (`duplicate`: it was stored before, nothing new)."""

    turn_id: int
    conversation_id: str
    message_id: int
    duplicate: bool
    contact_id: int | None = None


def find(session: Session, *, channel: str, platform_id: str) -> Turn | None:
    """The turn stored for this platform message, if any."""
    stmt = select(Turn).where(Turn.channel == channel, Turn.platform_id == platform_id)
    return session.scalars(stmt).first()


def _received(session: Session, turn: Turn, duplicate: bool) -> Received:
    conversation = session.get(Conversation, turn.conversation_id)
    contact_id = conversation.contact_id if conversation is not None else None
    return Received(turn.id, turn.conversation_id, turn.message_id, duplicate, contact_id)


@observe_stage("store")
def receive(session: Session, inbound: Inbound, *, answer: str | None = None) -> Received:
    """Store the customer message and its pending turn once per (channel, platform id); commits.

    `answer`: kefu replies itself (e.g. "text only, please" to a sticker): the reply is stored as a
    system message and the turn is done at once, without the bot. The unique constraint decides a race
    between two deliveries of one message: the loser rolls back and answers with the winner's turn.
    """
    seen = find(session, channel=inbound.channel, platform_id=inbound.platform_id)
    if seen is not None:
        return _received(session, seen, True)
    language = detect_language(inbound.text)
    contact = contacts.resolve_identity(
        session, channel=inbound.channel, external_id=inbound.user_id, language=language
    )
    if inbound.display_name and not contact.name:
        contact.name = inbound.display_name[:200]
    conversation = conversations.open_conversation(
        session, contact_id=contact.id, channel=inbound.channel, language=language
    )
    message = conversations.add_message(
        session,
        conversation=conversation,
        role=MessageRole.customer,
        text=inbound.text,
        language=language,
        client_id=inbound.client_id,
    )
    turn = Turn(
        conversation_id=conversation.id,
        message_id=message.id,
        channel=inbound.channel,
        platform_id=inbound.platform_id,
        rasa_metadata=inbound.metadata or None,
    )
    session.add(turn)
    emit_message(session, conversation, message)
    if answer is not None:
        reply = conversations.add_message(
            session, conversation=conversation, role=MessageRole.system, text=answer, language=language
        )
        reply.reply_to_id = message.id
        emit_message(session, conversation, reply)
        turn.status, turn.finished_at = TurnStatus.done, utcnow()
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        seen = find(session, channel=inbound.channel, platform_id=inbound.platform_id)
        if seen is None:
            raise
        return _received(session, seen, True)
    return _received(session, turn, False)


def next_pending(session: Session, conversation_id: str) -> Turn | None:
    """The conversation's oldest turn still to answer (turns are answered strictly in this order)."""
    stmt = (
        select(Turn)
        .where(Turn.conversation_id == conversation_id, Turn.status == TurnStatus.pending)
        .order_by(Turn.id)
        .limit(1)
    )
    return session.scalars(stmt).first()


def overdue(session: Session, *, grace_s: float, limit: int = 500) -> list[str]:
    """Conversations whose next turn should have run `grace_s` ago (its job was lost with a killed
    worker or a queue outage): the sweeper enqueues them again."""
    due = utcnow() - timedelta(seconds=grace_s)
    stmt = (
        select(Turn.conversation_id)
        .where(Turn.status == TurnStatus.pending, Turn.next_attempt_at < due)
        .distinct()
        .limit(limit)
    )
    return list(session.scalars(stmt))


def retry_at(turn: Turn, *, first_delay_s: float) -> datetime:
    """When a turn whose bot call failed `turn.attempts` times is tried again (doubling delays)."""
    return utcnow() + timedelta(seconds=first_delay_s * 2 ** max(turn.attempts - 1, 0))
