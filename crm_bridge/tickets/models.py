"""Ticket ORM models."""

from __future__ import annotations

import enum
import re
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_bridge.shapes import MAX_ID
from kefu_core.db import Base, UTCDateTime, utcnow

NUMBER = re.compile(r"^T-(\d{6,})$")


class TicketStatus(enum.StrEnum):
    """Where a ticket is in its life."""

    new = "new"
    open = "open"
    pending = "pending"
    resolved = "resolved"
    closed = "closed"


class Priority(enum.StrEnum):
    """How urgent it is; drives the SLA due times."""

    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class EventKind(enum.StrEnum):
    """What happened on a ticket."""

    created = "created"
    status_change = "status_change"
    priority_change = "priority_change"
    assignment = "assignment"
    public_reply = "public_reply"
    internal_note = "internal_note"


def format_number(ticket_id: int) -> str:
    """The human-readable number of a ticket id: 123 -> T-000123."""
    return f"T-{ticket_id:06d}"


def parse_number(number: str) -> int | None:
    """The ticket id inside a number like T-000123, or None when it is not one (or too big for an id)."""
    match = NUMBER.match(number.strip().upper())
    digits = match.group(1) if match else ""
    if not digits or len(digits) > len(str(MAX_ID)) or int(digits) > MAX_ID:
        return None
    return int(digits)


class Ticket(Base):
    """A customer's problem that needs follow-up."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TicketStatus] = mapped_column(
        Enum(TicketStatus, native_enum=False, length=16), default=TicketStatus.new, index=True
    )
    priority: Mapped[Priority] = mapped_column(
        Enum(Priority, native_enum=False, length=16), default=Priority.normal, index=True
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    first_response_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolution_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )

    @property
    def number(self) -> str:
        """T-000123."""
        return format_number(self.id)

    def first_response_breached(self, now: datetime | None = None) -> bool:
        """True when the first response came (or is still missing) after its due time."""
        return (self.first_responded_at or now or utcnow()) > self.first_response_due_at

    def resolution_breached(self, now: datetime | None = None) -> bool:
        """True when resolution came (or is still missing) after its due time."""
        return (self.resolved_at or now or utcnow()) > self.resolution_due_at


class TicketEvent(Base):
    """One entry of a ticket's timeline."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[EventKind] = mapped_column(Enum(EventKind, native_enum=False, length=32))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
