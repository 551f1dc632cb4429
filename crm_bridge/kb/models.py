"""What the knowledge base decided for a customer's question (reports: unanswered rate, FAQ frequencies)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kefu_core.db import Base, UTCDateTime, utcnow


class KbDecision(Base):
    """One search made for a conversation's customer: answer, clarify or none, and the best entry.

    No question text is kept (the message holds it): the row says only what was decided.
    """

    __tablename__ = "kb_decisions"
    __table_args__ = (Index("ix_kb_decisions_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    language: Mapped[str | None] = mapped_column(String(8))
    decision: Mapped[str] = mapped_column(String(8))  # answer | clarify | none
    top_faq_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
