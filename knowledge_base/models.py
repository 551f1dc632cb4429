"""FAQ entry ORM models (same database as the CRM)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu_core.db import Base, UTCDateTime, utcnow


class FaqStatus(enum.StrEnum):
    """Only published entries are answered from."""

    draft = "draft"
    published = "published"
    archived = "archived"


def new_faq_id() -> str:
    """A fresh entry id for entries imported or created without one."""
    return f"faq-{uuid.uuid4().hex[:12]}"


class FaqEntry(Base):
    """One question the knowledge base can answer, with its paraphrases."""

    __tablename__ = "faq_entries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_faq_id)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), index=True)
    category: Mapped[str | None] = mapped_column(String(64), index=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[FaqStatus] = mapped_column(
        Enum(FaqStatus, native_enum=False, length=16), default=FaqStatus.draft, index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    variants: Mapped[list[FaqVariant]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", order_by="FaqVariant.id"
    )


class FaqVariant(Base):
    """A paraphrase of an entry's question."""

    __tablename__ = "faq_variants"

    id: Mapped[int] = mapped_column(primary_key=True)
    faq_id: Mapped[str] = mapped_column(ForeignKey("faq_entries.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)

    entry: Mapped[FaqEntry] = relationship(back_populates="variants")


class FaqRevision(Base):
    """One change to an entry: who, when, what (a snapshot after the change). Kept after deletion."""

    __tablename__ = "faq_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    faq_id: Mapped[str] = mapped_column(String(64), index=True)  # no FK: history outlives the entry
    version: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))  # create | update | delete | import
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UnansweredQuestion(Base):
    """A customer question the knowledge base could not answer, for the admins' inbox."""

    __tablename__ = "kb_unanswered"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(32))
    top_faq_id: Mapped[str | None] = mapped_column(String(64))
    top_score: Mapped[float | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution: Mapped[str | None] = mapped_column(String(32))  # variant_added | entry_created | dismissed
    resolved_faq_id: Mapped[str | None] = mapped_column(String(64))
