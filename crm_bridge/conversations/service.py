"""Conversation and message database work (no HTTP)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_bridge.conversations.models import Conversation, ConversationStatus, Message, MessageRole
from crm_bridge.db import utcnow


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
) -> Message:
    """Append one message to the record; the caller commits."""
    message = Message(
        conversation_id=conversation.id,
        role=role,
        text=text,
        buttons=buttons or [],
        channel=conversation.channel,
        language=language,
    )
    session.add(message)
    if role in (MessageRole.bot, MessageRole.agent) and conversation.first_response_at is None:
        conversation.first_response_at = utcnow()
    if role is MessageRole.customer:
        conversation.language = language
    session.flush()
    return message


def count_messages(session: Session, conversation_id: str) -> int:
    """How many messages a conversation holds."""
    stmt = select(func.count()).select_from(Message).where(Message.conversation_id == conversation_id)
    return int(session.scalar(stmt) or 0)
