"""Conversation and message ORM models."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, Float, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu_core.db import Base, UTCDateTime, utcnow


class ConversationStatus(enum.StrEnum):
    """Who owns the conversation now."""

    bot = "bot"
    queued = "queued"
    agent = "agent"
    resolved = "resolved"


class MessageRole(enum.StrEnum):
    """Who said it."""

    customer = "customer"
    bot = "bot"
    agent = "agent"
    system = "system"


def _new_conversation_id() -> str:
    # Random, not sequential: the id reaches browsers and must not be guessable.
    return uuid.uuid4().hex


class Conversation(Base):
    """One thread between a contact and kefu (bot and agents), on one channel."""

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_contact_status", "contact_id", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=_new_conversation_id)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[ConversationStatus] = mapped_column(
        Enum(ConversationStatus, native_enum=False, length=16), default=ConversationStatus.bot
    )
    language: Mapped[str | None] = mapped_column(String(8))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When it joined the agent queue (None when not queued): orders the queue and times the wait.
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.id", cascade="all, delete-orphan"
    )


class Message(Base):
    """Everything anyone says, stored before anything else happens."""

    __tablename__ = "messages"
    # A widget resend with the same client_id must not be stored twice.
    # The sentiment index serves the voice-of-the-customer and at-risk reports (a period's negative messages).
    __table_args__ = (
        UniqueConstraint("conversation_id", "client_id"),
        Index("ix_messages_sentiment_created", "sentiment_label", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[MessageRole] = mapped_column(Enum(MessageRole, native_enum=False, length=16))
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(8))
    sentiment_label: Mapped[str | None] = mapped_column(String(16))
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    # Agent notes only agents see; never sent to the customer.
    internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    client_id: Mapped[str | None] = mapped_column(String(64))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The customer message a bot or system message answers (a queued turn's caller reads its replies).
    reply_to_id: Mapped[int | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
