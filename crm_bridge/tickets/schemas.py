"""API shapes for tickets."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crm_bridge import readback
from crm_bridge.shapes import MAX_ID, ChangeBody
from crm_bridge.tickets.models import EventKind, Priority, Ticket, TicketEvent, TicketStatus


class TicketCreate(BaseModel):
    """A new ticket."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "subject": "Parcel arrived damaged",
                    "description": "Order 10234: the mug was broken.",
                    "priority": "high",
                    "contact_id": 1,
                }
            ]
        },
    )

    subject: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=20_000)
    priority: Priority = Priority.normal
    contact_id: int | None = Field(None, ge=1, le=MAX_ID)
    conversation_id: str | None = Field(None, min_length=1, max_length=32)
    assignee_id: int | None = Field(None, ge=1, le=MAX_ID)

    @field_validator("subject")
    @classmethod
    def _subject_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("subject must not be blank")
        return value.strip()


class TicketUpdate(ChangeBody):
    """Changes to a ticket: any of status, priority, assignee (only the fields sent are applied; null
    assignee_id unassigns)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"status": "open"}]})
    clearable = frozenset({"assignee_id"})

    status: TicketStatus | None = None
    priority: Priority | None = None
    assignee_id: int | None = Field(None, ge=1, le=MAX_ID)
    subject: str | None = Field(None, min_length=1, max_length=300)


class TicketEventCreate(BaseModel):
    """A public reply or an internal note."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "public_reply", "body": "A replacement is on its way."}]},
    )

    kind: Literal["public_reply", "internal_note"]
    body: str = Field(min_length=1, max_length=20_000)

    @field_validator("body")
    @classmethod
    def _body_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("body must not be blank")
        return value


class TicketEventRead(BaseModel):
    """One timeline entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: EventKind
    author_id: int | None
    body: str
    data: dict[str, Any]
    created_at: datetime


class TicketRead(BaseModel):
    """A ticket with its SLA state."""

    model_config = ConfigDict(from_attributes=True)

    number: str
    subject: str
    description: str
    status: TicketStatus
    priority: Priority
    contact_id: int | None
    conversation_id: str | None
    assignee_id: int | None
    created_at: datetime
    updated_at: datetime
    first_response_due_at: datetime
    resolution_due_at: datetime
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    first_response_breached: bool
    resolution_breached: bool


class TicketDetail(TicketRead):
    """A ticket with its timeline."""

    events: list[TicketEventRead]


readback.guard(Ticket, TicketRead)
readback.guard(TicketEvent, TicketEventRead)
