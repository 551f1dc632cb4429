"""Shapes of the chat API (a contract: extend, never rename)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crm_bridge.conversations.models import ConversationStatus

MAX_TEXT = 4000


def message_text(value: str) -> str:
    """A chat message's text, stripped; not blank and at most MAX_TEXT characters (ValueError otherwise)."""
    value = value.strip()
    if not value:
        raise ValueError("text must not be empty or whitespace")
    if len(value) > MAX_TEXT:
        raise ValueError(f"text must be at most {MAX_TEXT} characters (got {len(value)})")
    return value


class ChatRequest(BaseModel):
    """A customer message."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"user_id": "u1", "text": "How long does delivery take?"}]},
    )

    user_id: str = Field(min_length=1, max_length=200, description="the customer's id on this channel")
    text: str = Field(description=f"1 to {MAX_TEXT} characters, not blank")
    channel: Literal["api"] = "api"
    metadata: dict[str, Any] = Field(default_factory=dict)
    message_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="your id for this message: a retry with the same id is stored and answered once",
    )

    @field_validator("user_id")
    @classmethod
    def _user_id_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("user_id must not be blank")
        return value.strip()

    @field_validator("text")
    @classmethod
    def _text_ok(cls, value: str) -> str:
        return message_text(value)


class Button(BaseModel):
    """A quick reply."""

    title: str
    payload: str


class ChatMessage(BaseModel):
    """One message in a reply."""

    id: int
    role: Literal["bot", "agent", "system"]
    text: str
    buttons: list[Button] = []


class ChatResponse(BaseModel):
    """What the customer gets back."""

    conversation_id: str
    status: ConversationStatus = Field(description="bot, queued, agent or resolved")
    messages: list[ChatMessage]
    customer_message_id: int | None = Field(
        None, description="the id of the stored customer message (use it as `after` for GET .../messages)"
    )
    pending: bool = Field(
        False,
        description="true when the answer took longer than the wait (KEFU_CHAT_WAIT_TIMEOUT): it comes "
        "later through GET /api/v1/chat/{conversation_id}/messages",
    )
