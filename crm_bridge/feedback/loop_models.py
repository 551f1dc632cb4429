"""Survey offers and follow-up tickets: what the satisfaction report divides by, and the closed loop."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from kefu_core.db import Base, UTCDateTime, utcnow


class OfferedVia(enum.StrEnum):
    """Where the customer was asked for a rating."""

    bot = "bot"  # the feedback form's 1-5 buttons (bot/domain.yml utter_ask_rating), any channel
    widget = "widget"  # the widget's stars after an agent resolves the chat


class SurveyOffer(Base):
    """The customer was asked to rate a conversation (the denominator of the response rate)."""

    __tablename__ = "survey_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    via: Mapped[OfferedVia] = mapped_column(Enum(OfferedVia, native_enum=False, length=16))
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class FollowUp(Base):
    """The ticket a low rating opened; one per feedback (the unique key makes it exactly once)."""

    __tablename__ = "feedback_follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
