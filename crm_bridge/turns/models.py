"""A customer turn waiting for (or done by) a job."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu_core.db import Base, UTCDateTime, utcnow


class TurnStatus(enum.StrEnum):
    """pending: waiting for a job; done: answered (or handed to a human); unavailable: the bot could
    not be reached after every attempt, the customer was told and agents flagged."""

    pending = "pending"
    done = "done"
    unavailable = "unavailable"


class Turn(Base):
    """One customer message to be answered; the platform's id makes a redelivery a duplicate."""

    __tablename__ = "turns"
    __table_args__ = (
        UniqueConstraint("channel", "platform_id"),
        Index("ix_turns_conversation_status", "conversation_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)  # arrival order
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    platform_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[TurnStatus] = mapped_column(
        Enum(TurnStatus, native_enum=False, length=16), default=TurnStatus.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)  # connection errors only, never message text
    worker: Mapped[str | None] = mapped_column(String(100))
    # What the caller passed for Rasa (the REST API's `metadata`); None for IM channels.
    rasa_metadata: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
