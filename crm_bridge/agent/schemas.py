"""Agent API shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crm_bridge import readback
from crm_bridge.agent.models import CannedReply
from crm_bridge.chat.schemas import MAX_TEXT, message_text
from crm_bridge.shapes import ChangeBody


class StatusRequest(BaseModel):
    """Go online or offline."""

    model_config = ConfigDict(extra="forbid")

    online: bool


class AgentMessage(BaseModel):
    """A reply to the customer, or an internal note only agents see."""

    model_config = ConfigDict(extra="forbid")

    text: str
    internal: bool = False

    @field_validator("text")
    @classmethod
    def _text_ok(cls, value: str) -> str:
        return message_text(value)


class CannedReplyIn(BaseModel):
    """A new canned reply."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=120)
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    language: Literal["en", "zh"]


class CannedReplyUpdate(ChangeBody):
    """Changes to a canned reply (only the fields sent are applied)."""

    title: str | None = Field(None, min_length=1, max_length=120)
    text: str | None = Field(None, min_length=1, max_length=MAX_TEXT)
    language: Literal["en", "zh"] | None = None


class CannedReplyRead(BaseModel):
    """A canned reply."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    text: str
    language: str


readback.guard(CannedReply, CannedReplyRead)
