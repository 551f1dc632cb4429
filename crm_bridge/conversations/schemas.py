"""API shapes for conversations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from crm_bridge.conversations.models import ConversationStatus, MessageRole


class MessageRead(BaseModel):
    """One stored message."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    role: MessageRole
    text: str
    buttons: list[dict[str, Any]]
    channel: str
    language: str | None
    sentiment_label: str | None
    sentiment_score: float | None
    created_at: datetime


class ConversationRead(BaseModel):
    """A conversation without its messages."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    contact_id: int
    channel: str
    status: ConversationStatus
    language: str | None
    assignee_id: int | None
    started_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    updated_at: datetime


class ConversationDetail(ConversationRead):
    """A conversation with every message."""

    messages: list[MessageRead]
