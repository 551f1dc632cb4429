"""Escalation record: every request for a human and what came of it."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kefu_core.db import Base, UTCDateTime, utcnow


class Reason(enum.StrEnum):
    """Why a human was asked for."""

    customer_request = "customer_request"
    complaint = "complaint"
    fallback = "fallback"
    negative_sentiment = "negative_sentiment"
    keyword = "keyword"
    ticket_status = "ticket_status"


class Outcome(enum.StrEnum):
    """What escalation did."""

    queued = "queued"
    assigned = "assigned"
    offline = "offline"
    declined = "declined"


class Escalation(Base):
    """One escalation attempt of a conversation."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
