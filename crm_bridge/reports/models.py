"""The per-conversation rollup the reports read (docs/decisions/0016-report-rollups.md): one row per
conversation, kept in the same transaction as its changes (crm_bridge/reports/facts.py) and rebuilt
from the base tables by `kefu reports rebuild`. No customer words: ids, times and counts only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from kefu_core.db import Base, UTCDateTime


class ConversationFacts(Base):
    """Everything a KPI needs about one conversation, precomputed."""

    __tablename__ = "conversation_facts"
    __table_args__ = (
        Index("ix_conversation_facts_started", "started_at"),
        Index("ix_conversation_facts_contact_started", "contact_id", "started_at"),
    )

    conversation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(8))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    assignee_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # The bot's handoff: the first escalation that was not declined (queued, assigned or offline ticket).
    handoff_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    handoff_reason: Mapped[str | None] = mapped_column(String(32))
    # The first human reply: an agent's message the customer saw (internal notes don't stop the clock).
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_responder_id: Mapped[int | None] = mapped_column(Integer, index=True)
    first_response_s: Mapped[float | None] = mapped_column(Float)
    first_response_bh_s: Mapped[float | None] = mapped_column(Float)
    agent_replies: Mapped[int] = mapped_column(Integer, default=0)
    # Kept from status changes as they happen (a reopen leaves no other trace in the base tables).
    first_resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolutions: Mapped[int] = mapped_column(Integer, default=0)
    reopens: Mapped[int] = mapped_column(Integer, default=0)
    first_resolution_s: Mapped[float | None] = mapped_column(Float)
    full_resolution_s: Mapped[float | None] = mapped_column(Float)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The same contact's next conversation, and its gap after this one ended (resolution or last message).
    next_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recontact_s: Mapped[float | None] = mapped_column(Float)
    kb_decisions: Mapped[int] = mapped_column(Integer, default=0)
    kb_none: Mapped[int] = mapped_column(Integer, default=0)
    inbound_messages: Mapped[int] = mapped_column(Integer, default=0)
    positive: Mapped[int] = mapped_column(Integer, default=0)
    neutral: Mapped[int] = mapped_column(Integer, default=0)
    negative: Mapped[int] = mapped_column(Integer, default=0)


class FactsPending(Base):
    """A conversation whose facts are out of date: written at commit by the listeners (one upsert), applied
    before a report reads and by the minute's job, so a chat turn does not recompute its facts inline."""

    __tablename__ = "conversation_facts_pending"

    conversation_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Status changes since the facts were last written (a reopen leaves no other trace).
    resolutions: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    reopens: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    first_resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A new conversation: its contact's previous conversation (its recontact gap) changes too.
    new: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
