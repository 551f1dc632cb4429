"""The queue: who waits, in which place of their language's line, for about how long; the list agents see."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_bridge.contacts.models import Contact
from crm_bridge.conversations.models import Conversation, ConversationStatus, Message, MessageRole
from crm_bridge.escalation.models import Escalation
from crm_bridge.escalation.roster import present_agents, speaks
from crm_bridge.realtime.events import AGENTS, emit
from kefu_core.db import utcnow
from kefu_core.settings import get_settings


def queued(session: Session, language: str | None = None) -> list[Conversation]:
    """The queue, first come first served (one language, or all)."""
    stmt = select(Conversation).where(Conversation.status == ConversationStatus.queued)
    if language is not None:
        stmt = stmt.where(Conversation.language == language)
    return list(session.scalars(stmt.order_by(Conversation.queued_at, Conversation.id)))


def estimated_wait(position: int, agents: int, handle_seconds: int) -> int:
    """Seconds to wait: position x average handle time, shared by the language's agents (at least one)."""
    return math.ceil(position * handle_seconds / max(1, agents))


def wait_minutes(seconds: int | None) -> int:
    """A wait as the customer is told it: whole minutes, at least one."""
    return max(1, math.ceil((seconds or 0) / 60))


def position_and_wait(session: Session, conversation: Conversation) -> tuple[int | None, int | None]:
    """1-based place in its language's queue and the estimated wait in seconds; (None, None) if not queued."""
    if conversation.status is not ConversationStatus.queued:
        return None, None
    line = queued(session, conversation.language)
    position = next((i + 1 for i, c in enumerate(line) if c.id == conversation.id), None)
    if position is None:
        return None, None
    agents = sum(1 for u in present_agents(session) if speaks(u, conversation.language))
    return position, estimated_wait(position, agents, get_settings().avg_handle_seconds)


def last_reason(session: Session, conversation_id: str) -> str | None:
    """Why the conversation was last escalated."""
    return session.scalars(
        select(Escalation.reason)
        .where(Escalation.conversation_id == conversation_id)
        .order_by(Escalation.id.desc())
    ).first()


def _last_sentiment(session: Session, conversation_id: str) -> str | None:
    return session.scalars(
        select(Message.sentiment_label)
        .where(
            Message.conversation_id == conversation_id,
            Message.role == MessageRole.customer,
            Message.sentiment_label.is_not(None),
        )
        .order_by(Message.id.desc())
    ).first()


def queue_items(session: Session) -> list[dict[str, Any]]:
    """The queue as agents see it: wait, reason, last sentiment, contact, place in its language's line."""
    now = utcnow()
    items: list[dict[str, Any]] = []
    places: dict[str | None, int] = {}
    for conversation in queued(session):
        places[conversation.language] = places.get(conversation.language, 0) + 1
        contact = session.get(Contact, conversation.contact_id)
        queued_at = conversation.queued_at or now
        items.append(
            {
                "conversation_id": conversation.id,
                "language": conversation.language,
                "channel": conversation.channel,
                "waiting_seconds": max(0, int((now - queued_at).total_seconds())),
                "reason": last_reason(session, conversation.id),
                "sentiment": _last_sentiment(session, conversation.id),
                "contact_name": contact.name if contact else None,
                "position": places[conversation.language],
            }
        )
    return items


def emit_queue(session: Session) -> None:
    """Send the whole queue to agent sockets (each filters by its languages)."""
    emit(session, AGENTS, {"type": "queue", "items": queue_items(session)})
