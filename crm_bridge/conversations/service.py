"""Conversation and message database work (no HTTP)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from crm_bridge.conversations.models import Conversation, ConversationStatus, Message, MessageRole
from kefu_core.db import utcnow
from kefu_core.errors import NotFound


def open_conversation(session: Session, *, contact_id: int, channel: str, language: str) -> Conversation:
    """The contact's unresolved conversation on this channel, or a new one."""
    stmt = (
        select(Conversation)
        .where(
            Conversation.contact_id == contact_id,
            Conversation.channel == channel,
            Conversation.status != ConversationStatus.resolved,
        )
        .order_by(Conversation.started_at.desc())
    )
    conversation = session.scalars(stmt).first()
    if conversation is None:
        conversation = Conversation(contact_id=contact_id, channel=channel, language=language)
        session.add(conversation)
        session.flush()
    return conversation


def add_message(
    session: Session,
    *,
    conversation: Conversation,
    role: MessageRole,
    text: str,
    language: str | None,
    buttons: list[dict[str, Any]] | None = None,
    internal: bool = False,
    author_id: int | None = None,
    client_id: str | None = None,
) -> Message:
    """Append one message to the record; the caller commits."""
    message = Message(
        conversation_id=conversation.id,
        role=role,
        text=text,
        buttons=buttons or [],
        channel=conversation.channel,
        language=language,
        internal=internal,
        author_id=author_id,
        client_id=client_id,
    )
    session.add(message)
    if (
        role in (MessageRole.bot, MessageRole.agent)
        and not internal
        and conversation.first_response_at is None
    ):
        conversation.first_response_at = utcnow()
    if role is MessageRole.customer:
        conversation.language = language
    session.flush()
    return message


@dataclass(frozen=True)
class ConversationFilters:
    """List filters."""

    status: ConversationStatus | None = None
    contact_id: int | None = None
    assignee_id: int | None = None
    channel: str | None = None
    started_from: datetime | None = None
    started_to: datetime | None = None


def list_query(filters: ConversationFilters) -> Select[Any]:
    """SELECT for a filtered list, most recently active first."""
    stmt = select(Conversation).order_by(Conversation.updated_at.desc(), Conversation.id)
    if filters.status:
        stmt = stmt.where(Conversation.status == filters.status)
    if filters.contact_id is not None:
        stmt = stmt.where(Conversation.contact_id == filters.contact_id)
    if filters.assignee_id is not None:
        stmt = stmt.where(Conversation.assignee_id == filters.assignee_id)
    if filters.channel:
        stmt = stmt.where(Conversation.channel == filters.channel)
    if filters.started_from:
        stmt = stmt.where(Conversation.started_at >= filters.started_from)
    if filters.started_to:
        stmt = stmt.where(Conversation.started_at < filters.started_to)
    return stmt


def get_or_raise(session: Session, conversation_id: str) -> Conversation:
    """The conversation with its messages, or NotFound."""
    conversation = session.get(Conversation, conversation_id, options=[selectinload(Conversation.messages)])
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} not found")
    return conversation


def messages_after(
    session: Session, conversation_id: str, after: int, *, include_internal: bool = False, limit: int = 500
) -> list[Message]:
    """Messages with an id above `after`, oldest first (internal notes only when asked)."""
    stmt = select(Message).where(Message.conversation_id == conversation_id, Message.id > after)
    if not include_internal:
        stmt = stmt.where(Message.internal.is_(False))
    return list(session.scalars(stmt.order_by(Message.id).limit(limit)))


def get_plain_or_raise(session: Session, conversation_id: str) -> Conversation:
    """The conversation without loading its messages, or NotFound (for hot paths)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} not found")
    return conversation
